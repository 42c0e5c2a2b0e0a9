import type { Command } from 'commander';
import type { IngestFlags } from '../actions/ingest.js';
import { collect } from './shared.js';

/**
 * `sluice ingest`. Registration is cheap; DuckDB and apache-arrow load only when the command runs
 * (`cli/actions/ingest.ts`).
 */
export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('ingest a CSV/TSV, Parquet, Arrow IPC, JSON or NDJSON file as a zstd Parquet snapshot')
    .argument('<path>', 'the file (inside SLUICE_DATA_ROOTS; relative paths from the working directory)')
    .option('--format <format>', 'csv, tsv, parquet, arrow, json or ndjson (default: from the extension)')
    .option('--sql <query>', 'feature engineering: one SELECT over the view "source"')
    .option('--delimiter <char>', 'CSV field separator (\\t or "tab" for tab; default: detected)')
    .option('--quote <char>', 'CSV quote character ("" for none; default: detected)')
    .option('--no-header', 'the CSV has no header line (default: detected)')
    .option(
      '--type <column=TYPE>',
      'declare a column type, e.g. --type zip=VARCHAR (repeatable)',
      collect,
      [],
    )
    .option(
      '--pii <column=hash|drop>',
      'hash (HMAC with SLUICE_PII_KEY) or drop a column before anything stores it (repeatable)',
      collect,
      [],
    )
    .action(async (path: string, flags: IngestFlags, command: Command) =>
      (await import('../actions/ingest.js')).ingestAction(path, flags, command),
    );
}
