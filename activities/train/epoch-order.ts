import { deriveSeed, mulberry32, permutation, SEED_PURPOSE } from '../../pipelines/prng.js';

/** Rows per shuffled block: a block is one contiguous run of a linear model's row records. */
export const SHUFFLE_BLOCK = 16;

/**
 * The order an epoch visits the training rows in. The rows are shuffled once per training run
 * (`base`, seeded by the run's seed) and cut into blocks of {@link SHUFFLE_BLOCK}; each epoch visits
 * the blocks in its own seeded order (`blocks`), each block's rows in `base` order. Every block is a
 * uniformly random set of rows and every batch a random set of blocks, so SGD sees well-mixed
 * batches, while a trainer that lays its rows out in `base` order once reads each block as one
 * contiguous run: an epoch streams memory instead of jumping to a random row every row.
 */
export interface EpochOrder {
  /** Row visited at each position, for trainers that gather batches row by row (built on first use). */
  readonly rows: Uint32Array;
  /** The run's row shuffle: block `b` holds `base[b·B … (b+1)·B)` (the last block may be short). */
  readonly base: Uint32Array;
  /** This epoch's order of blocks. */
  readonly blocks: Uint32Array;
  readonly blockSize: number;
  /** Where in `blocks` the short last block is visited (-1 when every block is full). */
  readonly shortAt: number;
}

/**
 * An epoch's order. A class, not an object literal: its shape is its own, so code that reads it (the
 * trainers' per-batch `runsOf`) is not thrown away when some other literal that starts with a `rows`
 * field changes that field's type. `rows` is filled on first use: a trainer that reads its records in
 * runs (the linear trainer) never needs the per-row list, which costs a pass over every row an epoch.
 */
class BlockOrder implements EpochOrder {
  #rows: Uint32Array | undefined;
  constructor(
    readonly base: Uint32Array,
    readonly blocks: Uint32Array,
    readonly blockSize: number,
    readonly shortAt: number,
  ) {}

  get rows(): Uint32Array {
    if (this.#rows === undefined) {
      const { base, blocks, blockSize: B } = this;
      const n = base.length;
      const rows = new Uint32Array(n);
      for (let k = 0, at = 0; k < blocks.length; k++) {
        const from = (blocks[k] as number) * B;
        const to = Math.min(from + B, n);
        for (let p = from; p < to; p++) rows[at++] = base[p] as number;
      }
      this.#rows = rows;
    }
    return this.#rows;
  }
}

/** The run's row shuffle (the same for every epoch of a run with this seed). */
export function baseOrder(rows: number, seed: number): Uint32Array {
  return permutation(rows, mulberry32(deriveSeed(seed, SEED_PURPOSE.order, 0)));
}

/** Epoch `epoch` (1-based) of a run: its block order and the rows it implies. */
export function epochOrder(base: Uint32Array, seed: number, epoch: number): EpochOrder {
  const n = base.length;
  const B = SHUFFLE_BLOCK;
  const count = Math.ceil(n / B);
  const blocks = permutation(count, mulberry32(deriveSeed(seed, SEED_PURPOSE.order, epoch)));
  const shortAt = n % B === 0 ? -1 : blocks.indexOf(count - 1);
  return new BlockOrder(base, blocks, B, shortAt);
}

/**
 * The contiguous runs of base positions that visiting positions `start … start+size)` of `order`
 * cover, in visiting order, written as (from, count) pairs into `into` (grown when too short; a block
 * cut by a batch boundary gives a partial run). Returns the runs and their count.
 */
export function runsOf(
  order: EpochOrder,
  start: number,
  size: number,
  into: Int32Array,
): { runs: Int32Array; count: number } {
  const { blocks, blockSize: B, base, shortAt } = order;
  const n = base.length;
  const end = start + size;
  const need = 2 * (Math.ceil(size / B) + 2);
  const runs = into.length >= need ? into : new Int32Array(need);
  // Every block visited before the short one (if any) is full, so a position's block is O(1) to find.
  const short = n % B;
  const shortBlock = short === 0 ? -1 : Math.floor(n / B);
  let count = 0;
  let p = start;
  while (p < end) {
    let q = p;
    if (shortAt >= 0 && p >= shortAt * B + short) q = p + (B - short);
    else if (shortAt >= 0 && p >= shortAt * B) q = shortAt * B + (p - shortAt * B);
    const k = Math.floor(q / B);
    const offset = q - k * B;
    const block = blocks[k] as number;
    const length = block === shortBlock ? short : B;
    const take = Math.min(length - offset, end - p);
    runs[2 * count] = block * B + offset;
    runs[2 * count + 1] = take;
    count++;
    p += take;
  }
  return { runs, count };
}
