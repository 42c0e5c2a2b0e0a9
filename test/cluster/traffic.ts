import { join } from 'node:path';
import { sleep } from '../../infra/cluster/processes.js';
import { loadConfig } from '../../lib/config.js';
import { sharedLogsFor } from '../../lib/shared-logs.js';
import type { Machine } from './machines.js';

/** Requests sent to serving replicas in the background until stopped. */
export interface Traffic {
  /** Stop sending; resolves with the rows answered, or rejects with the first failed request. */
  stop(): Promise<number>;
}

/**
 * Send `rows` to every replica in turn, `batch` instances a request, a request every `pauseMs`, until
 * stopped. Every answer must be 200.
 */
export function sendTraffic(
  replicas: string[],
  model: string,
  rows: Record<string, unknown>[],
  { batch = 20, pauseMs = 100 } = {},
): Traffic {
  let stopped = false;
  let answered = 0;
  const loop = (async () => {
    for (let i = 0, n = 0; !stopped; i = (i + batch) % rows.length, n++) {
      const url = replicas[n % replicas.length] ?? '';
      const response = await fetch(`${url}/v1/models/${model}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: rows.slice(i, i + batch) }),
      });
      if (response.status !== 200) {
        throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
      }
      answered += Math.min(batch, rows.length - i);
      await sleep(pauseMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return answered;
    },
  };
}

/**
 * Wait until every replica's prediction log is in the store: the replicas cut a file at most 5 s after
 * its oldest row and publish it, so once traffic has stopped the shared log stops growing. Returns the
 * number of files.
 */
export async function settledPredictionLog(machine: Machine, model: string): Promise<number> {
  const config = loadConfig(machine.env, machine.home);
  const shared = sharedLogsFor(config.artifacts);
  if (!shared) throw new Error('the cluster env should choose the S3 store');
  await sleep(6000);
  let last = -1;
  for (let i = 0; i < 30; i++) {
    const count = await shared.mirror(`prediction-log/${model}`, join(machine.home, 'settle'));
    if (count === last && count > 0) return count;
    last = count;
    await sleep(2000);
  }
  throw new Error(`the shared prediction log of ${model} never stopped growing (${last} files)`);
}

/** A seeded Fisher–Yates shuffle, so every request carries rows from the whole sample. */
export function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
