import { z } from 'zod';
import { piiPolicySchema } from './privacy.js';

/**
 * The params of an `ingestDataset` step (and the flags of `sluice ingest`). Pure and sandbox-safe, so
 * pipeline files are typed by it and `docs/pipelines.md` is generated from it; the activity parses
 * with the same schema.
 */

/**
 * Source formats ingest reads. DuckDB reads CSV/TSV, Parquet and JSON natively; Arrow IPC goes through
 * apache-arrow (DuckDB's arrow extension would have to be downloaded: docs/architecture.md decision 7).
 */
export const sourceFormatSchema = z.enum(['csv', 'tsv', 'parquet', 'arrow', 'json', 'ndjson']);
export type SourceFormat = z.infer<typeof sourceFormatSchema>;

/**
 * A DuckDB type name as a user may declare it (`INTEGER`, `DECIMAL(10,2)`, `VARCHAR[]`,
 * `TIMESTAMP WITH TIME ZONE`). Declared types are spliced into SQL, so only this shape is accepted.
 */
export const duckdbTypePattern = /^[A-Za-z][A-Za-z0-9_]*( [A-Za-z]+)*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])*$/;

/** `\t` and `tab` both mean a tab: what people type on a command line. */
const delimiter = z
  .string()
  .transform((value) => (value === '\\t' || value.toLowerCase() === 'tab' ? '\t' : value))
  .refine((value) => value.length >= 1 && value.length <= 4 && !/[\r\n]/.test(value), {
    message: 'one to four characters, not a newline (use \\t or "tab" for tab)',
  });

/** CSV/TSV dialect options; anything left out is detected by DuckDB's sniffer. */
export const csvOptionsSchema = z.strictObject({
  delimiter: delimiter
    .optional()
    .describe(
      'Field separator (one to four characters; `\\t` or `tab` for a tab). Default: detected (a tab for `tsv`).',
    ),
  header: z.boolean().optional().describe('Whether line 1 names the columns. Default: detected.'),
  quote: z
    .string()
    .max(1, 'one character, or an empty string for none')
    .optional()
    .describe("Quote character, or `''` for none. Default: detected."),
});
export type CsvOptions = z.output<typeof csvOptionsSchema>;

/** What `ingestDataset` accepts (step params, or the CLI's flags). */
export const ingestParamsSchema = z.strictObject({
  source: z
    .string()
    .min(1)
    .describe(
      'The file to read: a path (relative to the first data root) or `file://` URI inside the allowed data roots.',
    ),
  format: sourceFormatSchema.optional().describe('The file format. Default: from the file extension.'),
  csv: csvOptionsSchema.optional().describe('CSV/TSV dialect; anything left out is detected.'),
  types: z
    .record(
      z.string().min(1),
      z.string().regex(duckdbTypePattern, 'a DuckDB type such as INTEGER, DOUBLE, VARCHAR or DECIMAL(10,2)'),
    )
    .optional()
    .describe(
      'Declared DuckDB types of source columns (`{ delay: "INTEGER" }`); a value that does not fit is reported with its line.',
    ),
  sql: z
    .string()
    .min(1)
    .optional()
    .describe('Feature engineering: one `SELECT … FROM source` over the file. Default: every column.'),
  pii: piiPolicySchema
    .optional()
    .describe(
      'Columns to hash (HMAC-SHA256 with `SLUICE_PII_KEY`) or drop before anything else sees them: `{ email: "hash" }`.',
    ),
});
export type IngestParams = z.input<typeof ingestParamsSchema>;
