import { parentPort, workerData } from 'node:worker_threads';
import { trainOnDataset, type TrainJob } from './train-core.js';
import {
  reviveError,
  serializeError,
  type HookName,
  type ThreadMessage,
  type ThreadReply,
} from './train-thread-protocol.js';

/**
 * The training thread (started by `trainInThread`): trains the job it was given and posts the
 * outcome. Its hooks are calls to the activity's thread, answered by message; `onBatch` is a one-way
 * note (the activity heartbeats by itself while it waits).
 */
const port = parentPort;
if (!port) throw new Error('train-thread-entry runs as a worker thread, started by trainInThread');
const { job } = workerData as { job: TrainJob };

let nextId = 0;
const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
port.on('message', (reply: ThreadReply) => {
  const call = waiting.get(reply.id);
  if (!call) return;
  waiting.delete(reply.id);
  if (reply.error) call.reject(reviveError(reply.error));
  else call.resolve(reply.value);
});

function call<T>(hook: HookName, ...args: unknown[]): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
    port?.postMessage({ type: 'call', id, hook, args } satisfies ThreadMessage);
  });
}

trainOnDataset(job, {
  resume: (jobId) => call('resume', jobId),
  onEpoch: (jobId, checkpoint, stopping) => call('onEpoch', jobId, checkpoint, stopping),
  resumeTrees: (jobId) => call('resumeTrees', jobId),
  onRounds: (jobId, checkpoint, stopping) => call('onRounds', jobId, checkpoint, stopping),
  onBatch: () => port.postMessage({ type: 'batch' } satisfies ThreadMessage),
}).then(
  (outcome) => port.postMessage({ type: 'done', outcome } satisfies ThreadMessage),
  (error: unknown) =>
    port.postMessage({ type: 'failed', error: serializeError(error) } satisfies ThreadMessage),
);
