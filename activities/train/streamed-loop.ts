import {
  loopResult,
  nextCheckpoint,
  startCheckpoint,
  stopsAfter,
  validationLoss,
} from './loop-checkpoint.js';
import { deriveSeed, mulberry32, permutation, SEED_PURPOSE } from '../../pipelines/prng.js';
import { baseOrder, epochOrder } from './epoch-order.js';
import type { ChunkSource } from './streamed-split.js';
import type { Trainer, TrainingData } from './trainer.js';
import { DataValidationError } from '../../pipelines/errors.js';
import {
  batchWeight,
  gatherBatch,
  YIELD_EVERY_MS,
  type LoopOptions,
  type LoopResult,
} from './training-loop.js';

/** The key that deals epoch `epoch`'s rows into chunks (`chunkOf`). */
export function streamKey(seed: number, epoch: number): number {
  return deriveSeed(seed, SEED_PURPOSE.stream, epoch);
}

/**
 * The streamed twin of `runTrainingLoop` (docs/training.md, "Memory"), for a training split too large
 * to hold: every epoch reads the split again, chunk by chunk, from the snapshot. Epoch `e` deals the
 * rows into chunks by a hash of each row's key under (seed, e) (`chunkOf`), visits the chunks in an
 * order seeded by (seed, e), and each chunk's rows in a shuffle seeded by (seed, e, chunk), cut in
 * batches; batch `b` of the epoch draws its dropout from (seed, e, b). Everything an epoch does
 * follows from (seed, e), so a resumed attempt continues with exactly the numbers the interrupted one
 * would have used: resuming from a checkpoint ends with the same weights as never stopping. The
 * checkpoint is the in-memory loop's, so early stopping and checkpoint storage are unchanged.
 */
export async function runStreamedTrainingLoop(
  trainer: Trainer,
  source: ChunkSource,
  validation: TrainingData,
  options: LoopOptions,
): Promise<LoopResult> {
  const copies = trainer.stepRows === undefined;
  const xb = new Float32Array(copies ? options.batchSize * source.width : 0);
  const yb = new Float32Array(copies ? options.batchSize : 0);
  const wb = new Float32Array(copies ? options.batchSize : 0);
  let checkpoint = startCheckpoint(trainer, options.resume);
  let stopping = stopsAfter(checkpoint, options);
  while (!stopping && checkpoint.epoch < options.epochs) {
    const epoch = checkpoint.epoch + 1;
    const started = performance.now();
    const chunkOrder = permutation(
      source.chunks,
      mulberry32(deriveSeed(options.seed, SEED_PURPOSE.stream, epoch, 0)),
    );
    let sum = 0;
    let weight = 0;
    let seen = 0;
    let batch = 0;
    let lastYield = performance.now();
    for (const chunk of chunkOrder) {
      options.signal?.throwIfAborted();
      const { data, byKey } = await source.read(epoch, chunk);
      seen += data.rows;
      const seed = deriveSeed(options.seed, SEED_PURPOSE.stream, epoch, chunk + 1);
      const shuffle = baseOrder(data.rows, seed);
      for (let i = 0; i < shuffle.length; i++) shuffle[i] = byKey[shuffle[i] as number] as number;
      const order = epochOrder(shuffle, seed, 1);
      for (let at = 0; at < data.rows; at += options.batchSize) {
        options.signal?.throwIfAborted();
        const size = Math.min(options.batchSize, data.rows - at);
        const dropoutSeed = deriveSeed(options.seed, SEED_PURPOSE.dropout, epoch, batch++);
        if (trainer.stepRows) {
          sum += trainer.stepRows(data, order, at, size, dropoutSeed);
          weight += data.w ? batchWeight(data.w, order.rows, at, size) : size;
        } else {
          const w = data.w ? wb : undefined;
          gatherBatch(data, order, at, size, { xb, yb, wb: w });
          sum += trainer.step(xb, yb, w, size, dropoutSeed);
          weight += w ? w.subarray(0, size).reduce((a, b) => a + b, 0) : size;
        }
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          options.onBatch?.();
          await new Promise((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
      }
    }
    if (seen !== source.rows) {
      throw new DataValidationError(
        `epoch ${epoch} read ${seen} training rows of ${source.name} where ${source.rows} were counted when training started: ` +
          'the snapshot changed while training read it; rerun the pipeline so training reads one version of the data',
        { details: { epoch, rows: { counted: source.rows, read: seen } } },
      );
    }
    options.signal?.throwIfAborted();
    const loss = validationLoss(trainer, validation, options);
    const record = { epoch, trainLoss: sum / weight, validationLoss: loss, ms: performance.now() - started };
    checkpoint = nextCheckpoint(checkpoint, trainer, record, options.earlyStopping.minDelta);
    stopping = stopsAfter(checkpoint, options);
    await options.onEpoch?.(checkpoint, stopping || epoch === options.epochs);
  }
  return loopResult(checkpoint, options);
}
