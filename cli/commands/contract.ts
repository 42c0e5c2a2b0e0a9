import type { Command } from 'commander';
import type { InferOptionsFlags } from '../actions/contract.js';

/** `sluice contract infer`; the action (DuckDB and all) loads only when the command runs. */
export function registerContract(program: Command): void {
  const contract = program
    .command('contract')
    .description('data contracts: propose one from a dataset, then edit it');
  contract
    .command('infer')
    .description(
      'propose a contract from a dataset (types, nullability, widened min/max, allowed values, patterns, unique keys, row bounds) for you to edit',
    )
    .argument('<dataset>', 'a path (CSV, TSV, Parquet, JSON, NDJSON) or the sha256 of a stored dataset')
    .option('--out <file>', 'write the contract to this file instead of printing it')
    .option('--margin <fraction>', 'widen min/max by this share of the observed range', '0.1')
    .option('--max-allowed <n>', 'text columns with at most this many values get an allowed list', '20')
    .action(async (target: string, options: InferOptionsFlags, command: Command) =>
      (await import('../actions/contract.js')).contractInferAction(target, options, command),
    );
}
