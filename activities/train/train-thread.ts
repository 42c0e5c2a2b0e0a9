import type { Worker } from 'node:worker_threads';
import { startWorker } from './start-worker.js';
import type { TrainHooks, TrainJob, TrainOutcome } from './train-core.js';
import {
  reviveError,
  serializeError,
  type HookName,
  type ThreadMessage,
  type ThreadReply,
} from './train-thread-protocol.js';

/**
 * Train one model on a worker thread: `trainOnDataset` with the same job and hooks, run off the
 * calling thread. The thread prepares the data (DuckDB), fits, and returns the outcome; the hooks
 * (resume, checkpoint, heartbeat) run here, on the activity's thread, by message. So however long an
 * epoch, a boosting round or a DuckDB query takes, this thread's event loop stays free: heartbeats go
 * out on time and a crashed worker is noticed within a short heartbeat timeout, and the retry resumes
 * from the last checkpoint. Aborting the signal terminates the thread at once and rejects with the
 * signal's reason. The thread runs the same code on the same numbers, so the model is bit-identical
 * to one trained in-process.
 */
export function trainInThread(job: TrainJob, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const { signal } = hooks;
  signal?.throwIfAborted();
  const worker = startThread(job);
  return new Promise<TrainOutcome>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = () => finish(() => reject(signal?.reason as Error));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: ThreadMessage) => {
      switch (message.type) {
        case 'done':
          finish(() => resolve(message.outcome));
          return;
        case 'failed':
          finish(() => reject(reviveError(message.error)));
          return;
        case 'batch':
          hooks.onBatch?.();
          return;
        case 'call':
          void callHook(hooks, message.hook, message.args).then(
            (value) => !settled && worker.postMessage({ id: message.id, value } satisfies ThreadReply),
            (error: unknown) =>
              !settled &&
              worker.postMessage({ id: message.id, error: serializeError(error) } satisfies ThreadReply),
          );
      }
    });
    worker.on('error', (error) => finish(() => reject(error)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`the training thread exited (code ${code}) before it finished`))),
    );
  });
}

/** The thread, from the compiled `.js` next to this file, or from source through tsx. */
function startThread(job: TrainJob): Worker {
  return startWorker('train-thread-entry', { job });
}

async function callHook(hooks: TrainHooks, hook: HookName, args: unknown[]): Promise<unknown> {
  switch (hook) {
    case 'resume':
      return hooks.resume?.(args[0] as string);
    case 'onEpoch':
      return hooks.onEpoch?.(...(args as Parameters<NonNullable<TrainHooks['onEpoch']>>));
    case 'resumeTrees':
      return hooks.resumeTrees?.(args[0] as string);
    case 'onRounds':
      return hooks.onRounds?.(...(args as Parameters<NonNullable<TrainHooks['onRounds']>>));
  }
}
