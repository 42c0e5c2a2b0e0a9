import { InvalidInputError } from '../../pipelines/errors.js';
import { DEFAULT_TRAIN_MEMORY, formatMemorySize, parseMemorySize } from '../../pipelines/memory-size.js';
import type { TrainerSpec } from '../../pipelines/train-spec.js';

/** Bytes a row takes in memory as training data: its inputs, its label and its weight, 4 bytes each. */
export function rowBytes(width: number): number {
  return (width + 2) * 4;
}

/**
 * Hash chunks vary in size around their mean (by about its square root), so a chunk is planned at this
 * share of what the budget holds: a chunk of 100,000 rows overflows only 15 standard deviations out.
 */
const CHUNK_FILL = 0.9;

/** Bytes a streamed row's key takes beside its inputs, label and weight. */
const CHUNK_KEY_BYTES = 8;

/** How a job holds its training split: whole, or streamed from the snapshot in `chunks` per epoch. */
export type MemoryPlan =
  | { mode: 'memory'; budget: number }
  | {
      mode: 'streamed';
      budget: number;
      /** Chunks an epoch reads, each about `rows / chunks` training rows. */
      chunks: number;
      /** Streamed rows the budget holds: what a chunk's buffers are sized for (a rare chunk over it grows them). */
      chunkRows: number;
    };

export interface MemoryPlanInput {
  spec: TrainerSpec;
  rows: { train: number; validation: number };
  /** Encoded inputs per row. */
  width: number;
  /** `step "train" of pipelines/x.pipeline.ts`, for messages. */
  where?: string | undefined;
}

/**
 * Decide whether the training split is loaded whole (its dense matrix fits `trainer.memory`, default
 * 512 MiB: every split that fits keeps exactly the in-memory training it always had) or streamed in
 * chunks that fit it. Refuses, naming `trainer.memory` and the fix, what cannot train within the
 * budget: a budget that does not hold one batch, a validation split over it (it is scored every epoch,
 * so it stays in memory), and a tree model over it (trees do not stream).
 */
export function planMemory({ spec, rows, width, where }: MemoryPlanInput): MemoryPlan {
  const budget = spec.memory === undefined ? DEFAULT_TRAIN_MEMORY : parseMemorySize(spec.memory);
  const field = `trainer.memory${where ? ` of ${where}` : ''}`;
  const given =
    spec.memory === undefined
      ? `the default ${formatMemorySize(DEFAULT_TRAIN_MEMORY)}`
      : `${JSON.stringify(spec.memory)}`;
  if (budget === undefined) {
    throw new InvalidInputError(
      `${field} is ${JSON.stringify(spec.memory)}, not a size: write it like '512MiB' or '2GiB' (a number is bytes)`,
      { details: { field: 'trainer.memory', value: spec.memory ?? null } },
    );
  }
  const bytes = rowBytes(width);
  const need = (n: number) => formatMemorySize(n * bytes);
  const details = { field: 'trainer.memory', budget, rowBytes: bytes, rows };
  if (rows.train * bytes <= budget) return { mode: 'memory', budget };
  if (spec.model === 'gbdt') {
    throw new InvalidInputError(
      `the training split (${rows.train.toLocaleString('en')} rows × ${width} inputs, ${need(rows.train)}) is over ${field} (${given}), ` +
        `and tree models (gbdt) load their training split whole (only dense models stream it): ` +
        `set trainer.memory to at least ${atLeast(rows.train * bytes)} if the worker has that memory to spare, or train on a sample`,
      { details },
    );
  }
  // A streamed row also carries its key (a double) while its chunk is held.
  const chunkBytes = bytes + CHUNK_KEY_BYTES;
  const holds = Math.floor(budget / chunkBytes);
  if (holds < spec.batchSize) {
    throw new InvalidInputError(
      `${field} (${given}) holds ${holds.toLocaleString('en')} streamed rows of ${width} inputs (${chunkBytes} bytes each with label, weight and key), fewer than one batch ` +
        `(batchSize ${spec.batchSize}): raise trainer.memory to at least ${atLeast(spec.batchSize * chunkBytes)} or lower batchSize`,
      { details },
    );
  }
  if (rows.validation * bytes > budget) {
    throw new InvalidInputError(
      `the validation split (${rows.validation.toLocaleString('en')} rows × ${width} inputs, ${need(rows.validation)}) is over ${field} (${given}): ` +
        `it is scored every epoch and stays in memory, so raise trainer.memory to at least ${atLeast(rows.validation * bytes)} or give the validation split a smaller share`,
      { details },
    );
  }
  const chunks = Math.ceil(rows.train / Math.max(1, Math.floor(holds * CHUNK_FILL)));
  return { mode: 'streamed', budget, chunks, chunkRows: holds };
}

/** A size to suggest, rounded up to what the schema reads: `'46KiB'`, `'528MiB'`. */
function atLeast(bytes: number): string {
  return bytes < 2 ** 20 ? `'${Math.ceil(bytes / 2 ** 10)}KiB'` : `'${Math.ceil(bytes / 2 ** 20)}MiB'`;
}
