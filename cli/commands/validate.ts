import type { Command } from 'commander';
import type { ValidateOptions } from '../actions/validate.js';

/** `sluice validate`; the action (DuckDB and all) loads only when the command runs. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a dataset against a data contract; exit 1 when any anomaly has severity error')
    .argument('<dataset>', 'a path (CSV, TSV, Parquet, JSON, NDJSON) or the sha256 of a stored dataset')
    .requiredOption(
      '--contract <file>',
      'the contract, as JSON (start from: sluice contract infer <dataset>)',
    )
    .option('--reference-time <iso>', 'the time freshness is measured against (default: now)')
    .action(async (target: string, options: ValidateOptions, command: Command) =>
      (await import('../actions/validate.js')).validateAction(target, options, command),
    );
}
