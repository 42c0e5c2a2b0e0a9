import { basename, extname } from 'node:path';
import { InvalidInputError } from '../../pipelines/errors.js';
import { sourceFormatSchema, type SourceFormat } from '../../pipelines/ingest-params.js';

export { sourceFormatSchema, type SourceFormat };

const byExtension: Readonly<Record<string, SourceFormat>> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.arrow': 'arrow',
  '.arrows': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
};

/** Whether the format is text that must be valid UTF-8 (checked before DuckDB sees it). */
export function isTextFormat(format: SourceFormat): boolean {
  return format === 'csv' || format === 'tsv' || format === 'json' || format === 'ndjson';
}

/**
 * The format of a source: the explicit `format` when given, else from the file's extension.
 *
 * @throws InvalidInputError naming the file and the extensions and formats that work.
 */
export function detectFormat(source: string, path: string, explicit?: SourceFormat): SourceFormat {
  if (explicit) return explicit;
  const ext = extname(path).toLowerCase();
  const format = byExtension[ext];
  if (!format) {
    throw new InvalidInputError(
      `source ${source} has an unknown format (extension "${ext || 'none'}" on ${basename(path)}): ` +
        `rename it to one of ${Object.keys(byExtension).join(', ')} or pass --format ` +
        `${sourceFormatSchema.options.join('|')}`,
      { details: { source, path, extension: ext } },
    );
  }
  return format;
}
