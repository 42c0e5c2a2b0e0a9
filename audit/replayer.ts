import type { DataConverter } from '@temporalio/common';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { History } from './history.js';

/** Why a replay did not reproduce its history (Temporal's own error), or `undefined` when it did. */
export type ReplayFailure = Error | undefined;

/** Replays one history at a time on a single replay worker. */
export type Replay = (history: History, workflowId: string) => Promise<ReplayFailure>;

interface Pending {
  history: History;
  workflowId: string;
  resolve: (failure: ReplayFailure) => void;
  reject: (error: unknown) => void;
}

/**
 * Run `fn` with a `replay` function backed by ONE replay worker for `bundle`. Creating a replay worker
 * costs far more than replaying a pipeline's history, so every history — and every prefix tried while
 * locating a divergence — goes through the same worker. Temporal's replayer takes histories from an
 * iterable one at a time, so a request queue feeds it and each result settles its request in order.
 * `dataConverter` decrypts encrypted payloads (the same codec the workers used).
 */
export async function withReplayer<T>(
  bundle: WorkflowBundleWithSourceMap,
  dataConverter: DataConverter | undefined,
  fn: (replay: Replay) => Promise<T>,
): Promise<T> {
  const queue: (Pending | null)[] = [];
  const inFlight: Pending[] = [];
  let wake: (() => void) | undefined;
  const push = (item: Pending | null) => {
    queue.push(item);
    wake?.();
  };

  async function* feed() {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const next = queue.shift();
      if (!next) return;
      inFlight.push(next);
      yield { history: next.history, workflowId: next.workflowId };
    }
  }

  const pump = (async () => {
    try {
      for await (const result of Worker.runReplayHistories(
        { workflowBundle: bundle, replayName: 'sluice-audit', ...(dataConverter ? { dataConverter } : {}) },
        feed(),
      )) {
        inFlight.shift()?.resolve(result.error);
      }
    } catch (error) {
      for (const pending of [...inFlight, ...queue]) pending?.reject(error);
      throw error;
    }
  })();

  const replay: Replay = (history, workflowId) =>
    new Promise<ReplayFailure>((resolve, reject) => push({ history, workflowId, resolve, reject }));
  let result: T;
  try {
    result = await fn(replay);
  } catch (error) {
    push(null);
    await pump.catch(() => undefined);
    throw error;
  }
  push(null);
  await pump;
  return result;
}
