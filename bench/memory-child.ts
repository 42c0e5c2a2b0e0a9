import { withDuckDB } from '../lib/duckdb.js';
import { loadRelation, loadSplits, streamChunks } from '../activities/train/load-matrix.js';
import { prepareDataset, ROWS_VIEW } from '../activities/train/prepare.js';
import { transformQuery } from '../activities/train/transform-sql.js';
import { join } from 'node:path';
import { evaluateOnDataset } from '../activities/evaluate/evaluate-core.js';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { modelBody, saveModel } from '../lib/model/model-artifact.js';
import { trainOnDataset, type TrainOutcome } from '../activities/train/train-core.js';
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
let outcome: TrainOutcome | undefined;
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
  case 'gbdt':
  case 'logistic_streamed':
  case 'mlp_streamed': {
    outcome = await trainOnDataset({
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
if (outcome !== undefined && job.home !== undefined) {
  // Measured after the peak RSS above, so the evaluation's memory is not counted in it.
  figures.trainRows = outcome.metadata.data.rows.train;
  const epochMs = outcome.timings.epochMs[0] ?? 0;
  if (epochMs > 0) figures.epochMs = epochMs; // trees record no epoch times
  figures.auc = await testAuc(job, outcome);
  const streamed = outcome.metadata.training.streamed;
  if (streamed !== undefined) figures.chunks = streamed.chunks;
}
process.stdout.write(`${JSON.stringify(figures)}\n`);

/** The trained model's AUC on the flights' test split, through the real store → evaluate path. */
async function testAuc(memoryJob: MemoryJob, trained: TrainOutcome): Promise<number> {
  const store = createArtifactStore(join(memoryJob.home ?? '', `memory-${memoryJob.mode}`));
  const model = await saveModel(store, modelBody(trained), trained.transform, trained.metadata);
  const report = await evaluateOnDataset(store, {
    model,
    production: null,
    dataset: { path: memoryJob.path, uri: 'flights.parquet', sha256: 'bench' },
    split: { spec: trained.metadata.data.split, use: 'test' },
    threshold: 0.5,
    slices: [],
    fairness: [],
    maxGroups: 20,
    bootstrap: { replicates: 1, seed: 0 },
  });
  return report.metrics.auc?.value ?? NaN;
}
