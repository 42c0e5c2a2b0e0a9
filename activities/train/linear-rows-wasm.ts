import { RECORD, rowRecords, type RowRecords } from './row-records.js';
import type { TrainingData } from './trainer.js';
import { LINEAR_ROWS_WASM } from './wasm/linear-rows-module.js';

/** The part of the WebAssembly JS API used here (the project's `lib` declares none of it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The exports of linear-rows.as (pointers are byte offsets into `memory`). */
interface LinearRowsExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  oneOutputRows(
    sigmoid: number,
    records: number,
    stride: number,
    K: number,
    runs: number,
    count: number,
    W: number,
    b0: number,
    gradW: number,
    gradB: number,
  ): number;
  exp(x: number): number;
  log1p(x: number): number;
  log(x: number): number;
  heapBase(): number;
}

// linear-rows.as reads a record's header at these word offsets.
if (RECORD.valued !== 0 || RECORD.ones !== 1 || RECORD.y !== 2 || RECORD.w !== 3 || RECORD.entries !== 4)
  throw new Error('row-records.ts changed its record header: change linear-rows.as to match and rebuild it');

let compiled: object | undefined;

function instantiate(): LinearRowsExports {
  compiled ??= new wasmApi.Module(Buffer.from(LINEAR_ROWS_WASM, 'base64'));
  return new wasmApi.Instance(compiled, {}).exports as LinearRowsExports;
}

/** The kernel module's own exp, log1p and log: what a JavaScript path must use to agree with it. */
export const kernelMath: Pick<LinearRowsExports, 'exp' | 'log1p' | 'log'> = instantiate();

const PAGE = 65_536;
/** wasm32 addresses 4 GiB; V8 grants up to that, and a split's records beyond it are refused. */
const MAX_BYTES = 2 ** 32 - PAGE;

/**
 * One linear trainer's memory and kernel: its weights (f32) and gradient sums (f64) at the bottom of
 * one WebAssembly instance's memory, then the split's row records (row-records.ts), built straight
 * into that memory, then the batch's runs. `W`, `gradW` and `gradB` are views that are re-made after
 * the memory grows (growing detaches the old ones), so read them from here after `records` or `batch`.
 */
export class LinearRowsMemory {
  readonly #wasm = instantiate();
  readonly #size: number;
  readonly #wAt: number;
  readonly #gradAt: number;
  readonly #gradBAt: number;
  readonly #recordsAt: number;
  #runsAt = 0;
  #runsCapacity = 0;
  #runsView = new Int32Array(0);
  #records: { x: Float32Array; base: Uint32Array; rows: number; records: RowRecords } | undefined;
  W!: Float32Array;
  gradW!: Float64Array;
  gradB!: Float64Array;

  /** `size` weights (inputs × 1 output). */
  constructor(size: number) {
    this.#size = size;
    this.#wAt = align(this.#wasm.heapBase(), 16);
    this.#gradAt = align(this.#wAt + 4 * size, 16);
    this.#gradBAt = this.#gradAt + 8 * size;
    this.#recordsAt = align(this.#gradBAt + 8, 16);
    this.#reserve(this.#recordsAt);
  }

  /**
   * The records of `data` in `base` order, built into this memory on first use and kept while the same
   * split and order come back (every batch of a run); another split overwrites them.
   */
  records(data: TrainingData, base: Uint32Array): RowRecords {
    const kept = this.#records;
    if (kept && kept.x === data.x && kept.base === base && kept.rows === data.rows) return kept.records;
    this.#records = undefined;
    this.#runsCapacity = 0;
    const records = rowRecords(data, base, (words) => {
      const end = this.#recordsAt + 4 * words;
      if (end > MAX_BYTES)
        throw new Error(
          `the linear trainer's row records of ${data.rows} rows need ${end} bytes, over WebAssembly's ${MAX_BYTES}: train on fewer rows at a time (a streamed split) or fewer inputs`,
        );
      this.#reserve(end);
      this.#runsAt = align(end, 16);
      return new Int32Array(this.#wasm.memory.buffer, this.#recordsAt, words);
    });
    this.#records = { x: data.x, base, rows: data.rows, records };
    return records;
  }

  /**
   * Where a batch of `size` rows in blocks of `blockSize` writes its runs (epoch-order.ts `runsOf`,
   * which needs room for as many as `runs` makes): a view of this memory after the records (built
   * first, by `records`).
   */
  runs(size: number, blockSize: number): Int32Array {
    const need = 2 * (Math.ceil(size / blockSize) + 2);
    if (need > this.#runsView.length) {
      this.#runsCapacity = Math.max(need, 128);
      this.#reserve(this.#runsAt + 4 * this.#runsCapacity);
    }
    return this.#runsView;
  }

  /**
   * The batch's summed loss, its gradient sums added into `gradW` and `gradB`: the `count` (first
   * record, records) pairs at the start of `runs` index the records last built by `records`.
   */
  batch(sigmoid: boolean, count: number, b0: number): number {
    const records = this.#records?.records;
    if (!records) throw new Error('LinearRowsMemory.batch before records: build the split’s records first');
    return this.#wasm.oneOutputRows(
      sigmoid ? 1 : 0,
      this.#recordsAt,
      records.stride,
      records.k,
      this.#runsAt,
      count,
      this.#wAt,
      b0,
      this.#gradAt,
      this.#gradBAt,
    );
  }

  /** Grows the memory to hold `end` bytes (keeping its contents) and re-makes the views. */
  #reserve(end: number): void {
    const { memory } = this.#wasm;
    const have = memory.buffer.byteLength;
    if (end > have) memory.grow(Math.ceil((end - have) / PAGE));
    if (this.W === undefined || this.W.buffer !== memory.buffer) {
      this.W = new Float32Array(memory.buffer, this.#wAt, this.#size);
      this.gradW = new Float64Array(memory.buffer, this.#gradAt, this.#size);
      this.gradB = new Float64Array(memory.buffer, this.#gradBAt, 1);
    }
    if (this.#runsView.buffer !== memory.buffer || this.#runsView.length !== this.#runsCapacity)
      this.#runsView = new Int32Array(memory.buffer, this.#runsAt, this.#runsCapacity);
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
