import { withDuckDB } from '../lib/duckdb.js';
import { loadRelation, loadSplits, streamChunks } from '../activities/train/load-matrix.js';
import { prepareDataset, ROWS_VIEW } from '../activities/train/prepare.js';
import { transformQuery } from '../activities/train/transform-sql.js';
import { trainOnDataset } from '../activities/train/train-core.js';
import { trainerSchema } from '../pipelines/train-spec.js';
import type { MemoryFigures, MemoryJob } from './train-memory.js';

/**
 * One measurement of the `train` bench's peak RSS (bench/train-memory.ts), in its own process so the
 * peak is its own. Takes a {@link MemoryJob} as JSON; prints one JSON line of {@link MemoryFigures}
 * (`maxRSS` in KiB from `process.resourceUsage()`).
 */
const job = JSON.parse(process.argv[2] ?? '{}') as MemoryJob;
const wall = performance.now();
const cpu = process.cpuUsage();
let rows: number;
switch (job.mode) {
  case 'duckdb':
    rows = await withDuckDB(async (db) => {
      const { transform } = await prepareDataset(db, job.path, job.spec);
      let read = 0;
      for (const split of ['train', 'validation']) {
        await streamChunks(
          db,
          transformQuery(transform, ROWS_VIEW, { where: `__split = '${split}'` }),
          (chunk) => {
            read += chunk.rowCount;
          },
        );
      }
      return read;
    });
    break;
  case 'load': {
    const loaded = await withDuckDB(async (db) => {
      const prepared = await prepareDataset(db, job.path, job.spec);
      const rows = await loadRelation(db, ROWS_VIEW, job.path, job.spec.split);
      return loadSplits(db, prepared.transform, rows, () => undefined, prepared.rows);
    });
    rows = loaded.train.rows + loaded.validation.rows;
    break;
  }
  case 'logistic':
  case 'mlp':
  case 'gbdt': {
    const outcome = await trainOnDataset({
      dataset: { path: job.path, uri: 'flights.parquet', sha256: 'bench', bytes: job.bytes },
      ...job.spec,
      trainer: trainerSchema.parse(job.trainer),
    });
    rows = outcome.timings.loadedRows;
    break;
  }
}
const used = process.cpuUsage(cpu);
const figures: MemoryFigures = {
  mode: job.mode,
  rows,
  maxRSS: process.resourceUsage().maxRSS,
  wallMs: performance.now() - wall,
  cpuMs: (used.user + used.system) / 1000,
};
process.stdout.write(`${JSON.stringify(figures)}\n`);
