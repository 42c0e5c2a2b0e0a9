import { rm } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { z } from 'zod';
import type { ArtifactProducer, ArtifactRef } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { PiiSuspectAnomaly } from '../../pipelines/privacy.js';
import type { ArtifactStorage } from '../../lib/artifacts/index.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { resolveSource } from '../../lib/paths.js';
import { ingestParamsSchema } from '../../pipelines/ingest-params.js';
import { detectFormat, isTextFormat, type SourceFormat } from './format.js';
import { findPiiSuspects } from './pii-suspects.js';
import { preflight } from './preflight.js';
import { explainReadError, type ReadContext } from './read-errors.js';
import { scanSource } from './source-scan.js';
import { defineSource, describeQuery, rawRelation, requirePiiKey, sourceView } from './source-relation.js';
import { checkTransform } from './transform.js';
import { canStoreAsIs, storeAsIs } from './parquet-passthrough.js';

export { ingestParamsSchema, type IngestParams } from '../../pipelines/ingest-params.js';

/** What ingest needs from its caller: where to store, where sources may live, the HMAC key. */
export interface IngestDeps {
  store: ArtifactStorage;
  dataRoots: readonly string[];
  /** `SLUICE_PII_KEY`; required only when a column is marked `pii: 'hash'`. */
  piiKey?: string | undefined;
  /** The run and step ingesting, recorded in the snapshot's sidecar. */
  producer?: ArtifactProducer | undefined;
}

/** What ingest returns: plain JSON, small enough for a Temporal payload. */
export type IngestResult = {
  /** The canonical zstd Parquet snapshot in the artifact store. */
  dataset: ArtifactRef;
  /** The file that was read, with its own hash: provenance for audits. */
  source: { path: string; sha256: string; bytes: number; format: SourceFormat };
  /** Findings that do not block ingest (unmarked columns that look like personal data). */
  warnings: PiiSuspectAnomaly[];
};

/**
 * Ingest a dataset: read a CSV/TSV, Parquet, Arrow IPC, JSON or NDJSON file inside the allowed roots,
 * apply declared types and the privacy policy, run the optional SQL transform, and store ONE canonical
 * zstd Parquet snapshot in the content-addressed store (a zstd Parquet source ingest changes nothing in
 * is stored as it is: parquet-passthrough.ts). Rows flow file → DuckDB → Parquet and never
 * become JavaScript objects. Bad input is refused before anything is stored, with a typed,
 * non-retryable error naming the file, line or column and the fix; a failure at any point leaves no
 * artifact and no staging file behind.
 *
 * @throws InvalidInputError | DataValidationError | ConfigurationError (all non-retryable).
 */
export async function ingestDataset(input: unknown, deps: IngestDeps): Promise<IngestResult> {
  const params = parseParams(input);
  const path = await resolveSource(params.source, deps.dataRoots);
  const format = detectFormat(params.source, path, params.format);
  if (params.csv && format !== 'csv' && format !== 'tsv') {
    throw new InvalidInputError(
      `source ${params.source} is ${format}, but CSV options (delimiter, header, quote) were given: ` +
        'drop them, or declare --format csv if the file is really CSV',
    );
  }
  const pii = params.pii ?? {};
  const hashed = Object.keys(pii).filter((column) => pii[column] === 'hash');
  if (hashed.length > 0) requirePiiKey(deps.piiKey, hashed);

  const scan = await scanSource(path, isTextFormat(format), format === 'json' || format === 'ndjson');
  const arrowLayout = preflight(params.source, format, scan);
  const source = { path, sha256: scan.sha256, bytes: scan.bytes, format };
  const types = params.types ?? {};
  const context: ReadContext = { source: params.source, path, format, types, rawRelation };

  return deps.store.withStagingFile('parquet', async (staged) => {
    const spill = `${staged}.spill`;
    try {
      return await withDuckDB(async (db) => {
        await sandbox(db, { source: path, staging: dirname(staged), spill });
        let query = `SELECT * FROM ${sourceView}`;
        let rows: number;
        try {
          const columns = await defineSource(db, {
            source: params.source,
            path,
            format,
            csv: params.csv ?? {},
            types,
            pii,
            piiKey: deps.piiKey,
            arrowLayout,
          });
          if (params.sql !== undefined) query = await checkTransform(db, params.sql, params.source, columns);
          const asIs = await canStoreAsIs(db, { format, path, sql: params.sql, types, pii });
          rows = asIs ? await storeAsIs(db, path, staged) : await copyParquet(db, query, staged);
        } catch (error) {
          throw await explainReadError(error, { ...context, transform: params.sql !== undefined }, db);
        }
        const schema = await describeQuery(db, query);
        if (rows === 0) throw await noRows(db, params.source, format, params.sql !== undefined);
        const warnings = await findPiiSuspects(db, staged, schema, pii);
        const dataset = await deps.store.putFile(staged, {
          kind: 'dataset',
          format: 'parquet',
          rows,
          schema,
          ...(deps.producer ? { producer: deps.producer } : {}),
        });
        return { dataset, source, warnings };
      });
    } finally {
      await rm(spill, { recursive: true, force: true });
    }
  });
}

function parseParams(input: unknown): z.output<typeof ingestParamsSchema> {
  const parsed = ingestParamsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(params)'}: ${issue.message}`,
  );
  throw new InvalidInputError(`ingest parameters are invalid: ${issues.join('; ')}`, { details: { issues } });
}

/**
 * Lock DuckDB down before it reads anything: it may read the source file and write only in the
 * store's staging directory (the snapshot and any spill files). User SQL then cannot reach other files,
 * and cannot unlock the configuration.
 */
async function sandbox(
  db: DuckDBConnection,
  paths: { source: string; staging: string; spill: string },
): Promise<void> {
  await db.run(`SET temp_directory = ${sqlString(paths.spill)}`);
  await db.run(`SET allowed_paths = [${sqlString(paths.source)}]`);
  await db.run(`SET allowed_directories = [${sqlString(paths.staging + sep)}]`);
  await db.run('SET enable_external_access = false');
  await db.run('SET lock_configuration = true');
}

/** Write the snapshot: canonical zstd Parquet, rows in source order. */
async function copyParquet(db: DuckDBConnection, query: string, target: string): Promise<number> {
  const result = await db.runAndReadAll(
    `COPY (${query}) TO ${sqlString(target)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  return Number(result.getRowsJS()[0]?.[0] ?? 0);
}

async function noRows(
  db: DuckDBConnection,
  source: string,
  format: SourceFormat,
  transformed: boolean,
): Promise<InvalidInputError> {
  if (transformed) {
    const counted = await db.runAndReadAll(`SELECT count(*) FROM ${rawRelation}`);
    const sourceRows = Number(counted.getRowsJS()[0]?.[0] ?? 0);
    if (sourceRows > 0) {
      return new InvalidInputError(
        `the sql transform selected none of the ${sourceRows} rows of source ${source}: ` +
          'check its WHERE clause; an empty dataset is not ingested',
        { details: { source, sourceRows } },
      );
    }
  }
  const columns = (await describeQuery(db, `SELECT * FROM ${rawRelation}`)).map((c) => c.name);
  const what =
    format === 'csv' || format === 'tsv'
      ? `only a header (${columns.join(', ')}) and no data rows`
      : format === 'json' || format === 'ndjson'
        ? 'no records'
        : 'no rows';
  return new InvalidInputError(
    `source ${source} has ${what}: an empty dataset is not ingested; check the export that wrote it`,
    { details: { source, rows: 0, columns } },
  );
}
