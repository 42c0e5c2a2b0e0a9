export { ingestDataset, ingestParamsSchema } from './ingest-dataset.js';
export type { IngestDeps, IngestParams, IngestResult } from './ingest-dataset.js';
export { detectFormat, sourceFormatSchema } from './format.js';
export type { SourceFormat } from './format.js';
export type { CsvOptions } from './csv-source.js';
