import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { storeStatistics } from '../activities/data-steps.js';
import { withDuckDB } from '../lib/duckdb.js';
import { ingestDataset } from '../activities/ingest/index.js';
import { validate } from '../activities/validation/validate-dataset.js';
import { parseContract } from '../pipelines/contract.js';
import { projectRoot } from '../test/support/paths.js';
import { benchContract, referenceSql } from './data-queries.js';

/**
 * One measured run of the `data` bench, in its own process so its peak RSS is its own. Prints one JSON
 * line: per phase the wall time and the CPU time (user + system, all threads: steadier than wall time on
 * a shared machine), in ms; rows; and `maxRSS` (KiB, from `process.resourceUsage()`).
 *
 * `sluice`: ingest (PART A's `ingestDataset`) → statistics with reports → validation, through the
 * artifact store, as the pipeline steps do. `reference`: one hand-written DuckDB SQL statement that
 * computes the same statistics straight from the file.
 */
const source = join(projectRoot, 'node_modules/vega-datasets/data/flights-3m.parquet');

interface Phase {
  wallMs: number;
  cpuMs: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, Phase]> {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return [value, { wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000 }];
}

async function reference(): Promise<Record<string, number | Phase>> {
  const [rows, statistics] = await timed(() =>
    withDuckDB(async (db) => {
      const result = await db.runAndReadAll(referenceSql(source));
      return Number(result.getColumnsObjectJS()['n']?.[0] ?? 0);
    }),
  );
  return { statistics, rows };
}

async function sluice(): Promise<Record<string, number | Phase>> {
  const home = await mkdtemp(join(tmpdir(), 'sluice-bench-data-'));
  try {
    const store = createArtifactStore(home);
    const [{ dataset }, ingest] = await timed(() =>
      ingestDataset({ source }, { store, dataRoots: [projectRoot] }),
    );
    const [{ path, statistics: stats }, statistics] = await timed(async () => {
      const path = await store.open(dataset);
      const stored = await storeStatistics(store, { path, name: 'flights-3m', sha256: dataset.sha256 });
      return { path, statistics: stored.statistics };
    });
    const contract = parseContract(benchContract, 'the data bench');
    const [result, validation] = await timed(() => validate(contract, stats, path));
    if (!result.passed) throw new Error(`the bench contract failed: ${JSON.stringify(result.anomalies)}`);
    return { ingest, statistics, validation, rows: stats.rows };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

const mode = process.argv[2];
if (mode !== 'sluice' && mode !== 'reference') {
  process.stderr.write('usage: data-child.ts sluice|reference\n');
  process.exit(2);
}
const figures = mode === 'sluice' ? await sluice() : await reference();
process.stdout.write(`${JSON.stringify({ mode, ...figures, maxRSS: process.resourceUsage().maxRSS })}\n`);
