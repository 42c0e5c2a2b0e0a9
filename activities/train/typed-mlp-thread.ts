import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { BatchRows } from './typed-mlp-kernel.js';
import { createMlpKernelOf } from './typed-mlp-simd.js';
import { mlpLayout } from './typed-mlp-layout.js';
import {
  chunkRange,
  claimChunk,
  CTRL,
  STATE,
  type HelperMessage,
  type HelperSetup,
  type SharedData,
} from './typed-mlp-helper.js';

/**
 * The typed-array MLP trainer's second thread (started by `MlpHelper`): waits for a batch, claims
 * chunks of it until none is left, writes each chunk's gradient and loss to its slot in shared
 * memory, and waits again. It never touches the weights (the trainer updates them between batches).
 */
const { setup } = workerData as { setup: HelperSetup };
const ctrl = new Int32Array(setup.ctrl);
const params = new Float32Array(setup.params);
const grads = new Float64Array(setup.grads);
const losses = new Float64Array(setup.losses);
const layout = mlpLayout(setup.sizes);
const kernel = createMlpKernelOf(setup.impl, layout, setup.kernel);
let data: SharedData | undefined;

function report(state: number, message?: HelperMessage): void {
  if (message) setup.port.postMessage(message);
  Atomics.store(ctrl, CTRL.state, state);
  Atomics.notify(ctrl, CTRL.done);
}

/** The split the trainer shared last (its message was posted before the batch that needs it). */
function currentData(): SharedData {
  const version = Atomics.load(ctrl, CTRL.data);
  while (data?.version !== version) {
    const received = receiveMessageOnPort(setup.port);
    if (!received) throw new Error(`the data of version ${version} never arrived`);
    data = received.message as SharedData;
  }
  return data;
}

process.on('exit', () => {
  if (Atomics.load(ctrl, CTRL.state) === STATE.running) report(STATE.exited);
});

try {
  Atomics.store(ctrl, CTRL.state, STATE.running);
  for (let seen = 0; ;) {
    Atomics.wait(ctrl, CTRL.gen, seen);
    if (Atomics.load(ctrl, CTRL.stop) === 1) break;
    const gen = Atomics.load(ctrl, CTRL.gen);
    seen = gen;
    for (let c = claimChunk(ctrl, gen); c >= 0; c = claimChunk(ctrl, gen)) {
      const shared = currentData();
      const size = Atomics.load(ctrl, CTRL.size);
      const batch: BatchRows = {
        csr: shared,
        y: shared.y,
        w: shared.w,
        rows: shared.rows,
        start: Atomics.load(ctrl, CTRL.start),
        size,
        dropoutSeed: Atomics.load(ctrl, CTRL.seed) >>> 0,
      };
      const [from, to] = chunkRange(size, c);
      losses[c] = kernel.gradient(
        params,
        grads.subarray(c * layout.total, (c + 1) * layout.total),
        batch,
        from,
        to,
      );
      Atomics.add(ctrl, CTRL.done, 1);
      Atomics.notify(ctrl, CTRL.done);
    }
  }
  Atomics.store(ctrl, CTRL.state, STATE.exited);
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  report(STATE.failed, { type: 'failed', message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
}
