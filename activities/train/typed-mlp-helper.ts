import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from './start-worker.js';
import type { MlpKernelOptions } from './typed-mlp-kernel.js';
import type { MlpKernelImpl } from './typed-mlp-simd.js';

/**
 * Chunks per batch (typed-mlp.ts): claimed by either thread, each summed into its own gradient. Adam
 * (`applyGradients`) adds the four in one expression.
 */
export const MLP_CHUNKS = 4;

/** Batch positions `[from, to)` of chunk `c`: fixed by the batch size alone. */
export function chunkRange(size: number, c: number): [number, number] {
  return [Math.floor((c * size) / MLP_CHUNKS), Math.floor(((c + 1) * size) / MLP_CHUNKS)];
}

/** Slots of the shared control array (`Int32Array` over a `SharedArrayBuffer`). */
export const CTRL = {
  /** Batch generation, 1, 2, …: bumped by the trainer to hand out a batch; the helper waits on it. */
  gen: 0,
  /** Chunks claimed so far, over all generations: generation g's chunks are claims (g-1)·C … g·C-1. */
  claim: 1,
  /** Chunks finished so far, over all generations; the trainer waits for g·C. */
  done: 2,
  /** The helper's state (`STATE`). */
  state: 3,
  size: 4,
  seed: 5,
  /** Where in the shared row order the batch starts. */
  start: 6,
  /** Version of the data the batch reads (sent once by message). */
  data: 7,
  /** Set to stop the helper. */
  stop: 8,
  length: 9,
} as const;

export const STATE = { starting: 0, running: 1, failed: 2, exited: 3 } as const;

/** What the helper thread is started with. */
export interface HelperSetup {
  sizes: number[];
  kernel: MlpKernelOptions;
  /** The trainer's kernel: the helper uses the same, so that both threads' chunks are alike. */
  impl: MlpKernelImpl;
  ctrl: SharedArrayBuffer;
  params: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  losses: SharedArrayBuffer;
  port: MessagePort;
}

/** The split the batches come from, in shared memory; `rows` holds the current epoch's row order. */
export interface SharedData {
  version: number;
  offsets: Int32Array;
  index: Int32Array;
  value: Float32Array;
  y: Float32Array;
  w: Float32Array | undefined;
  rows: Uint32Array;
}

/** Messages from the helper thread. */
export type HelperMessage = { type: 'failed'; message: string; stack?: string };

/**
 * Claim the next chunk of generation `gen`: its index 0 … C-1, or -1 when all are taken (or the
 * generation is over). Never takes a claim of a later generation, so a late thread cannot steal one.
 */
export function claimChunk(ctrl: Int32Array, gen: number): number {
  const end = gen * MLP_CHUNKS;
  for (;;) {
    const at = Atomics.load(ctrl, CTRL.claim);
    if (at >= end) return -1;
    if (Atomics.compareExchange(ctrl, CTRL.claim, at, at + 1) === at) return at - (end - MLP_CHUNKS);
  }
}

/** How long a batch may wait on the helper's chunks without any of them finishing. */
const STALL_MS = 60_000;

/**
 * The training thread's side of the second thread (typed-mlp-thread.ts). Both threads claim chunks of
 * each batch from a shared counter and write each chunk's gradient to its own slot, so the work is
 * shared as the threads happen to be free (another process on a core slows one thread, not the
 * batch) while the sums, made by the trainer in chunk order, do not depend on who did what. The
 * helper starts in the background: until it runs, the trainer simply claims every chunk itself.
 *
 * If the helper throws, exits or is killed, the batch in progress fails with an error naming the
 * step and the batch rather than waiting forever: a thrown error or an exit is seen at once (the
 * helper records it in shared memory), a killed thread by its exit event before the next batch, or
 * after {@link STALL_MS} without progress inside one.
 */
export class MlpHelper {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly ctrl: Int32Array;
  private gen = 0;
  /** What went wrong with the helper, once something has. */
  private failure: string | undefined;
  private dataVersion = 0;

  constructor(
    setup: Omit<HelperSetup, 'port'>,
    private readonly where: string,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.ctrl = new Int32Array(setup.ctrl);
    this.worker = startWorker('typed-mlp-thread', { setup: { ...setup, port: port2 } }, [port2]);
    this.worker.unref();
    this.worker.on('error', (error) => this.fail(`failed: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`exited (code ${code})`));
  }

  /** The thread itself (tests stop it to see a batch fail). */
  get thread(): Worker {
    return this.worker;
  }

  /** Hand the helper a new split to read batches from. */
  share(data: Omit<SharedData, 'version'>): SharedData {
    const shared = { ...data, version: ++this.dataVersion };
    this.port.postMessage(shared);
    Atomics.store(this.ctrl, CTRL.data, shared.version);
    return shared;
  }

  /**
   * One batch: publish it, compute the chunks this thread claims with `compute`, then wait for the
   * helper's. `step` (the batch's 1-based number) is for the error message.
   */
  run(
    batch: { size: number; seed: number; start: number },
    compute: (chunk: number) => void,
    step: number,
  ): void {
    if (this.failure) throw this.error(step);
    const ctrl = this.ctrl;
    const gen = ++this.gen;
    Atomics.store(ctrl, CTRL.size, batch.size);
    Atomics.store(ctrl, CTRL.seed, batch.seed | 0);
    Atomics.store(ctrl, CTRL.start, batch.start);
    Atomics.store(ctrl, CTRL.gen, gen);
    Atomics.notify(ctrl, CTRL.gen);
    for (let c = claimChunk(ctrl, gen); c >= 0; c = claimChunk(ctrl, gen)) {
      compute(c);
      Atomics.add(ctrl, CTRL.done, 1);
    }
    const target = gen * MLP_CHUNKS;
    let done = Atomics.load(ctrl, CTRL.done);
    let progressed = performance.now();
    while (done < target) {
      if (!this.failed() && performance.now() - progressed > STALL_MS) {
        this.fail(`finished none of its chunks for ${STALL_MS / 1000} s`);
      }
      if (this.failure) throw this.error(step);
      Atomics.wait(ctrl, CTRL.done, done, 250);
      const now = Atomics.load(ctrl, CTRL.done);
      if (now !== done) progressed = performance.now();
      done = now;
    }
  }

  /**
   * Throw, as {@link run} would, if the helper has failed or exited: for a batch the trainer computes
   * alone, so that a dead helper fails the step at once whoever computes the batches.
   */
  check(step: number): void {
    if (this.failed()) throw this.error(step);
  }

  /** Whether the helper has failed (from its state in shared memory, or an event seen before). */
  private failed(): boolean {
    const state = Atomics.load(this.ctrl, CTRL.state);
    if (state === STATE.failed || state === STATE.exited) {
      const message = receiveMessageOnPort(this.port)?.message as HelperMessage | undefined;
      this.fail(state === STATE.failed ? `failed: ${message?.message ?? 'unknown error'}` : 'exited');
    }
    return this.failure !== undefined;
  }

  /** Stop the thread (it is waiting between batches, or finishing one nobody waits for). */
  dispose(): void {
    this.failure ??= 'was stopped: the trainer was disposed';
    Atomics.store(this.ctrl, CTRL.stop, 1);
    Atomics.add(this.ctrl, CTRL.gen, 1);
    Atomics.notify(this.ctrl, CTRL.gen);
    this.port.close();
    void this.worker.terminate();
  }

  private fail(what: string): void {
    this.failure ??= what;
  }

  private error(step: number): Error {
    return new Error(
      `${this.where}: batch ${step}: the typed-array MLP trainer's second thread ${this.failure}; the attempt fails so that a retry resumes from the last checkpoint (engine: 'tfjs' trains without the thread)`,
    );
  }
}
