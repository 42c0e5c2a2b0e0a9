import type { DenseParams } from './dense-params.js';
import { deriveSeed, SEED_PURPOSE } from '../../pipelines/prng.js';
import { baseOrder, epochOrder, type EpochOrder } from './epoch-order.js';
import { loopResult, nextCheckpoint, startCheckpoint, stopsAfter } from './loop-checkpoint.js';
import { meanLoss, type OutputKind, type Trainer, type TrainerState, type TrainingData } from './trainer.js';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validationLoss: number;
  ms: number;
}

/** Where training stands after an epoch: enough to resume and end exactly as an uninterrupted run. */
export interface LoopCheckpoint {
  /** Epochs completed (1-based numbering: after the first epoch this is 1). */
  epoch: number;
  state: TrainerState;
  best: { epoch: number; validationLoss: number; params: DenseParams };
  /** Epochs since the best validation loss. */
  sinceBest: number;
  history: EpochRecord[];
}

export interface LoopOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  output: OutputKind;
  earlyStopping: { patience: number; minDelta: number };
  /** Continue from here instead of epoch 1 (a retried attempt). */
  resume?: LoopCheckpoint;
  /** Aborting stops training within one batch; the signal's reason is thrown. */
  signal?: AbortSignal;
  /** After every epoch: save the checkpoint and heartbeat. Awaited before the next epoch. */
  onEpoch?: (checkpoint: LoopCheckpoint, stopping: boolean) => Promise<void>;
  /** Every few batches, to keep heartbeats flowing in a long epoch. */
  onBatch?: () => void;
}

export interface LoopResult {
  /** The weights of the best validation epoch (early stopping keeps the best, not the last). */
  params: DenseParams;
  bestEpoch: number;
  epochsRun: number;
  stoppedEarly: boolean;
  history: EpochRecord[];
  /** The epoch a resumed attempt started after, if it resumed. */
  resumedFrom?: number;
}

/** How long an epoch may compute before giving the event loop a turn (heartbeats, cancellation). */
export const YIELD_EVERY_MS = 50;

/**
 * Train for up to `epochs` epochs with early stopping on validation loss. Epoch `e` visits the rows in
 * the block order seeded by (seed, e) over the run's row shuffle seeded by (seed, 0) (epoch-order.ts) and batch `b` draws its dropout from (seed, e, b), so a resumed
 * attempt continues with exactly the numbers the interrupted one would have used: resuming from a
 * checkpoint ends with the same weights as never stopping.
 */
export async function runTrainingLoop(
  trainer: Trainer,
  train: TrainingData,
  validation: TrainingData,
  options: LoopOptions,
): Promise<LoopResult> {
  const units = trainer.state().params.sizes.at(-1) ?? 1;
  const width = train.width;
  // The batch buffers are for trainers that take a copied batch; `stepRows` reads rows in place.
  const copies = trainer.stepRows === undefined;
  const buffers: BatchBuffers = {
    xb: new Float32Array(copies ? options.batchSize * width : 0),
    yb: new Float32Array(copies ? options.batchSize : 0),
    wb: copies && train.w ? new Float32Array(options.batchSize) : undefined,
  };
  // The epoch's summed loss and weight, added batch by batch.
  const sums = new Float64Array(2);

  let checkpoint = startCheckpoint(trainer, options.resume);
  let stopping = stopsAfter(checkpoint, options);

  // Rows shuffled once per run, visited in blocks reordered every epoch (epoch-order.ts).
  const base = baseOrder(train.rows, options.seed);
  while (!stopping && checkpoint.epoch < options.epochs) {
    const epoch = checkpoint.epoch + 1;
    const started = performance.now();
    const order = epochOrder(base, options.seed, epoch);
    sums.fill(0);
    let lastYield = performance.now();
    for (let start = 0; start < train.rows;) {
      start = stepBatches(trainer, train, order, epoch, start, options, buffers, sums, lastYield);
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        options.onBatch?.();
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    options.signal?.throwIfAborted();
    const validationLoss = meanLoss(
      options.output,
      trainer.logits(validation.x, validation.rows),
      validation.y,
      validation.rows,
      units,
      validation.w,
    );
    const record = {
      epoch,
      trainLoss: (sums[0] as number) / (sums[1] as number),
      validationLoss,
      ms: performance.now() - started,
    };
    checkpoint = nextCheckpoint(checkpoint, trainer, record, options.earlyStopping.minDelta);
    stopping = stopsAfter(checkpoint, options);
    await options.onEpoch?.(checkpoint, stopping || epoch === options.epochs);
  }
  return loopResult(checkpoint, options);
}

interface BatchBuffers {
  xb: Float32Array;
  yb: Float32Array;
  wb: Float32Array | undefined;
}

/**
 * Steps the epoch's batches from position `start` until the epoch ends or, after a batch, more than
 * YIELD_EVERY_MS has passed since `lastYield`; adds each batch's loss and weight to `sums`. Returns
 * where the next batch starts. A plain function, not part of the async loop: the loop resumes after
 * every yield, and V8 counts each resume as a call, so a hot loop inside it was compiled late (tens
 * of ms of compilation in the middle of a run); this one is compiled early and stays compiled.
 */
function stepBatches(
  trainer: Trainer,
  train: TrainingData,
  order: EpochOrder,
  epoch: number,
  start: number,
  options: LoopOptions,
  { xb, yb, wb }: BatchBuffers,
  sums: Float64Array,
  lastYield: number,
): number {
  let at = start;
  while (at < train.rows) {
    options.signal?.throwIfAborted();
    const size = Math.min(options.batchSize, train.rows - at);
    const batch = at / options.batchSize;
    const dropoutSeed = deriveSeed(options.seed, SEED_PURPOSE.dropout, epoch, batch);
    if (trainer.stepRows) {
      sums[0] = (sums[0] as number) + trainer.stepRows(train, order, at, size, dropoutSeed);
      sums[1] = (sums[1] as number) + (train.w ? batchWeight(train.w, order.rows, at, size) : size);
    } else {
      gatherBatch(train, order, at, size, { xb, yb, wb });
      sums[0] = (sums[0] as number) + trainer.step(xb, yb, wb, size, dropoutSeed);
      sums[1] = (sums[1] as number) + (wb ? wb.subarray(0, size).reduce((a, b) => a + b, 0) : size);
    }
    at += size;
    if (performance.now() - lastYield > YIELD_EVERY_MS) break;
  }
  return at;
}

/** The summed weights of rows `order[start … start+size)`, added in the order a copied batch adds them. */
export function batchWeight(w: Float32Array, order: Uint32Array, start: number, size: number): number {
  let sum = 0;
  for (let i = 0; i < size; i++) sum += w[order[start + i] as number] as number;
  return sum;
}

/** Rows `order.rows[at … at+size)` of `data` copied into the batch buffers (for trainers that take a copied batch). */
export function gatherBatch(
  data: TrainingData,
  order: EpochOrder,
  at: number,
  size: number,
  { xb, yb, wb }: { xb: Float32Array; yb: Float32Array; wb: Float32Array | undefined },
): void {
  const width = data.width;
  for (let i = 0; i < size; i++) {
    const row = order.rows[at + i] as number;
    xb.set(data.x.subarray(row * width, (row + 1) * width), i * width);
    yb[i] = data.y[row] as number;
    if (wb && data.w) wb[i] = data.w[row] as number;
  }
}
