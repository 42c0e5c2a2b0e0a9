import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { GrowData, HistogramBuilder } from './grow.js';

/**
 * Histograms on two threads. A leaf's rows are always summed as two halves, `[begin, begin + ⌊n/2⌋)`
 * and the rest, each into its own buffer, and the buffers are then added slot by slot — whether a
 * helper thread sums the second half or this thread sums both. The result is therefore bit-for-bit the
 * same on one core or two, so a model does not depend on the machine that trained it, and a fit
 * resumed on another worker grows the same trees.
 *
 * The helper thread shares the binned matrix, the gradient/hessian pairs, the row order and its output
 * buffer through SharedArrayBuffers, and the hand-off is synchronous (Atomics.wait/notify): the
 * leaf-wise grower stays a plain loop.
 */

/** Leaves smaller than this are summed on one thread: the hand-off would cost more than it saves. */
export const PARALLEL_MIN_ROWS = 4096;

/** Typed arrays over shared memory, so a helper thread sees the same bytes. */
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT));
}

export function sharedUint32(length: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(length * Uint32Array.BYTES_PER_ELEMENT));
}

export function sharedBytes(source: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(new SharedArrayBuffer(source.length));
  bytes.set(source);
  return bytes;
}

/** Sum rows `order[begin … begin+count)` into `out` (cleared first). The one kernel both threads run. */
function sumRows(
  bins: Uint8Array,
  F: number,
  offset: Int32Array,
  gh: Float64Array,
  order: Uint32Array,
  begin: number,
  count: number,
  out: Float64Array,
): void {
  out.fill(0);
  const end = begin + count;
  for (let p = begin; p < end; p++) {
    const r = order[p]!;
    const gr = gh[2 * r]!;
    const hr = gh[2 * r + 1]!;
    const base = r * F;
    for (let f = 0; f < F; f++) {
      const s = (offset[f]! + bins[base + f]!) * 3;
      out[s] = out[s]! + gr;
      out[s + 1] = out[s + 1]! + hr;
      out[s + 2] = out[s + 2]! + 1;
    }
  }
}

/**
 * The helper thread's loop, as a script (no module to resolve, from source or from dist/): wait for a
 * job number in control[0], sum the rows control[1..2] into `out`, publish the job number in control[3].
 * control[1] = -1 asks it to exit.
 */
const helperScript = `
const { workerData } = require('node:worker_threads');
const { bins, F, offset, gh, order, out, control } = workerData;
const sumRows = ${sumRows.toString()};
let seen = 0;
for (;;) {
  Atomics.wait(control, 0, seen);
  const job = Atomics.load(control, 0);
  if (control[1] === -1) break;
  sumRows(bins, F, offset, gh, order, control[1], control[2], out);
  Atomics.store(control, 3, job);
  Atomics.notify(control, 3);
  seen = job;
}
`;

/** A histogram builder and what it holds: call `close` when the fit ends (the helper thread exits). */
export interface HistogramPool {
  build: HistogramBuilder;
  /** Whether a helper thread sums half of each large leaf. */
  threaded: boolean;
  close(): Promise<void>;
}

/**
 * The builder for one fit. With `threads` ≥ 2 (default: the machine's parallelism) `data.bins`, `gh`
 * and every `order` passed to `build` must live in SharedArrayBuffers ({@link sharedBytes},
 * {@link sharedFloat64}, {@link sharedUint32}).
 */
export function histogramPool(
  data: GrowData,
  gh: Float64Array,
  order: Uint32Array,
  threads = availableParallelism(),
): HistogramPool {
  const { bins, features: F, offset } = data;
  const slots = data.totalSlots * 3;
  const canShare = [bins, gh, order].every((a) => a.buffer instanceof SharedArrayBuffer);
  const threaded = threads >= 2 && canShare;
  const second = threaded ? sharedFloat64(slots) : new Float64Array(slots);
  let helper: Worker | undefined;
  const control = new Int32Array(new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT));
  let job = 0;
  if (threaded) {
    const sharedOffset = new Int32Array(new SharedArrayBuffer(offset.byteLength));
    sharedOffset.set(offset);
    helper = new Worker(helperScript, {
      eval: true,
      workerData: { bins, F, offset: sharedOffset, gh, order, out: second, control },
    });
    helper.unref();
  }

  const build: HistogramBuilder = (rows, begin, count, out) => {
    const half = count >>> 1;
    if (helper && count >= PARALLEL_MIN_ROWS && rows === order) {
      control[1] = begin + half;
      control[2] = count - half;
      Atomics.store(control, 0, ++job);
      Atomics.notify(control, 0);
      sumRows(bins, F, offset, gh, rows, begin, half, out);
      while (Atomics.load(control, 3) !== job) Atomics.wait(control, 3, job - 1);
    } else {
      sumRows(bins, F, offset, gh, rows, begin, half, out);
      sumRows(bins, F, offset, gh, rows, begin + half, count - half, second);
    }
    for (let s = 0; s < slots; s++) out[s] = out[s]! + second[s]!;
  };

  return {
    build,
    threaded,
    close: async () => {
      if (!helper) return;
      control[1] = -1;
      Atomics.store(control, 0, ++job);
      Atomics.notify(control, 0);
      await helper.terminate();
      helper = undefined;
    },
  };
}
