import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./train-thread-entry.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData: { job } });
  // Loader hooks given as execArgv are not in place before a thread's entry loads (Node 20), so a
  // small script registers tsx first and then imports the TypeScript entry.
  const api = createRequire(import.meta.url).resolve('tsx/esm/api');
  const tsx = pathToFileURL(api.replace(/\.cjs$/, '.mjs')).href;
  const script = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((api) => { api.register(); return import(workerData.entry); });
`;
  return new Worker(script, { eval: true, workerData: { job, tsx, entry: entry.href } });
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
