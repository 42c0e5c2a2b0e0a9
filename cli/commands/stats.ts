import type { Command } from 'commander';

/** `sluice stats`; the action (DuckDB and all) loads only when the command runs. */
export function registerStats(program: Command): void {
  program
    .command('stats')
    .description(
      'compute statistics of a dataset (count, nulls, distinct, min/max, mean/std, quantiles, histograms, top values), store them with Markdown and HTML reports, and print the report',
    )
    .argument(
      '<dataset>',
      'a path (CSV, TSV, Parquet, JSON, NDJSON) or the sha256 of a stored dataset or statistics artifact',
    )
    .action(async (target: string, _options, command: Command) =>
      (await import('../actions/stats.js')).statsAction(target, command),
    );
}
