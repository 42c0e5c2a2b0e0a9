import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { ingestDataset, type IngestParams } from '../../activities/ingest/index.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { context } from '../commands/shared.js';
import { table } from '../output.js';

/** The flags of `sluice ingest`, as commander parses them. */
export interface IngestFlags {
  format?: string;
  sql?: string;
  delimiter?: string;
  quote?: string;
  /** `false` only when `--no-header` is given; otherwise detected. */
  header: boolean;
  type: string[];
  pii: string[];
}

/**
 * `sluice ingest <path>`: the ingest step on its own, in this process, without Temporal. Same code,
 * same checks, same store as the `ingestDataset` activity, so a data engineer can try a file (and its
 * SQL transform) before putting it in a pipeline.
 */
export async function ingestAction(path: string, flags: IngestFlags, command: Command): Promise<void> {
  const { config, out } = context(command);
  const params = toParams(path, flags);
  const started = performance.now();
  const store = createArtifactStore(config.home, config.artifacts);
  const result = await ingestDataset(params, {
    store,
    dataRoots: config.dataRoots,
    piiKey: config.piiKey,
  });
  const elapsedMs = Math.round(performance.now() - started);
  const { dataset, source, warnings } = result;
  const schema = dataset.schema ?? [];
  // The address names the bytes on every machine; the file is this machine's verified copy (for DuckDB).
  const file = await store.open(dataset);
  out.result({ ...result, elapsedMs }, () =>
    [
      `ingested ${source.path} (${source.format}, ${source.bytes} bytes) in ${(elapsedMs / 1000).toFixed(2)} s`,
      table([
        ['rows', String(dataset.rows ?? 0)],
        ['columns', `${schema.length}: ${schema.map((c) => `${c.name} ${c.type}`).join(', ')}`],
        ['bytes', `${dataset.bytes} (zstd Parquet)`],
        ['artifact', dataset.uri],
        ['file', file],
        ['sha256', dataset.sha256],
        ['source sha256', source.sha256],
      ]),
      ...warnings.map((w) => `warning: ${w.message}`),
    ].join('\n'),
  );
}

function toParams(path: string, flags: IngestFlags): IngestParams {
  const csv = {
    ...(flags.delimiter === undefined ? {} : { delimiter: flags.delimiter }),
    ...(flags.quote === undefined ? {} : { quote: flags.quote }),
    ...(flags.header ? {} : { header: false }),
  };
  return {
    // A shell user means the working directory; the allowed-roots check still applies.
    source: /^file:|^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? path : resolve(path),
    ...(flags.format === undefined ? {} : { format: flags.format as IngestParams['format'] }),
    ...(Object.keys(csv).length > 0 ? { csv } : {}),
    ...(flags.sql === undefined ? {} : { sql: flags.sql }),
    ...(flags.type.length > 0 ? { types: pairs(flags.type, '--type', 'column=TYPE') } : {}),
    ...(flags.pii.length > 0
      ? { pii: pairs(flags.pii, '--pii', 'column=hash|drop') as Record<string, 'hash' | 'drop'> }
      : {}),
  };
}

/** `name=value` flags as a record; the values are validated by ingest's schema. */
function pairs(values: readonly string[], flag: string, shape: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const value of values) {
    const at = value.lastIndexOf('=');
    if (at <= 0 || at === value.length - 1) {
      throw new InvalidInputError(`${flag} ${value} is not ${shape}: write it as ${flag} ${shape}`);
    }
    record[value.slice(0, at)] = value.slice(at + 1);
  }
  return record;
}
