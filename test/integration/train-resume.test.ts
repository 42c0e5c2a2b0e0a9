import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { createActivities } from '../../activities/index.js';
import { readModelManifest, saveModel } from '../../lib/model/model-artifact.js';
import { trainOnDataset } from '../../activities/train/train-core.js';
import type { TrainModelOutput } from '../../activities/train/train-model.js';
import { trainStepSchema } from '../../activities/train/train-model.js';
import { sha256File } from '../../lib/hash.js';
import { followRun, startRun } from '../../client/runs.js';
import { definePipeline } from '../../pipelines/define.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { dagWorkflow } from '../../workflows/index.js';
import { dataDir } from '../support/paths.js';
import { testConfig } from '../support/worker.js';

let config: SluiceConfig;
let env: Record<string, string>;
let client: Client;
let connection: NativeConnection;
let orchestration: Worker;
let orchestrationDone: Promise<void>;
let source: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ({ config, env } = await testConfig());
  connection = await NativeConnection.connect({ address: config.temporal.address });
  client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  // Workflows (and light steps) in this process; the train queue is served by a child we can kill.
  orchestration = await Worker.create({
    connection,
    taskQueue: config.taskQueues.orchestration,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities: createActivities({ home: config.home, dataRoots: config.dataRoots }),
  });
  orchestrationDone = orchestration.run();
  source = join(config.home, 'flights-6k.parquet');
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * FROM read_parquet('${join(dataDir, 'flights-3m.parquet')}') ORDER BY md5(date::VARCHAR || origin || destination) LIMIT 6000) TO '${source}' (FORMAT parquet)`,
    ),
  );
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await client?.connection.close();
  orchestration?.shutdown();
  await orchestrationDone;
  await connection?.close();
});

const params = {
  source: 'flights-6k.parquet',
  features: {
    numeric: ['distance', { name: 'hour', sql: 'hour(date)' }],
    categorical: [{ name: 'weekday', sql: 'dayofweek(date)' }, 'origin', 'destination'],
  },
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'date::VARCHAR || origin || destination', seed: 1 },
  trainer: {
    model: 'mlp',
    layers: [32, 16],
    dropout: 0.1,
    epochs: 8,
    batchSize: 4,
    earlyStopping: { patience: 50 },
  },
} as const;

/** The same task trained by gradient-boosted trees: checkpointed every 5 rounds, never stopping early. */
const gbdtParams = {
  ...params,
  trainer: {
    model: 'gbdt',
    rounds: 300,
    learningRate: 0.03,
    checkpointEvery: 5,
    earlyStopping: { patience: 1000 },
  },
} as const;

describe('training survives a killed worker', () => {
  it('a SIGKILLed training attempt is retried elsewhere and resumes from its last checkpoint', async () => {
    const output = await killAndResume('train-resume', params, 2);
    expect(output.resumedFromEpoch).toBeLessThan(8);
    expect(output.metrics.epochsRun).toBe(8);
    expect(output.backend).toBe('wasm');

    // The resumed model is the very model an uninterrupted run produces: the same per-epoch losses
    // and the same weights (one content address), whichever process trained which epochs.
    const { resumed, uninterrupted } = await againUninterrupted(params, output);
    expect(resumed.tfjs!.weights.sha256).toBe(uninterrupted.tfjs!.weights.sha256);
  }, 240_000);

  it('a SIGKILLed boosting attempt resumes from its stored trees and grows the same forest', async () => {
    const output = await killAndResume('gbdt-resume', gbdtParams, 10);
    expect(output.engine).toBe('gbdt');
    expect(output.resumedFromEpoch).toBeLessThan(300);
    expect(output.metrics.epochsRun).toBe(300);
    // Bit for bit: the trees grown across two processes are the trees one process grows.
    const { resumed, uninterrupted } = await againUninterrupted(gbdtParams, output);
    expect(resumed.gbdt!.forest.sha256).toBe(uninterrupted.gbdt!.forest.sha256);
  }, 240_000);
});

/**
 * Train `trainParams` on a child worker, SIGKILL it once the server holds a heartbeat for `atLeast`
 * (an epoch, or a boosting round), let a fresh worker take the retry, and return the step's output.
 */
async function killAndResume(
  id: string,
  trainParams: typeof params | typeof gbdtParams,
  atLeast: number,
): Promise<TrainModelOutput> {
  const child = startTrainWorker();
  children.push(child);
  await waitForLine(child, /^ready/);
  const spec = definePipeline({
    id,
    steps: [
      {
        id: 'train',
        activity: 'trainModel',
        queue: 'train',
        timeout: '45s',
        // Training heartbeats from its own thread's activity, so a short timeout is safe: the server
        // sees each checkpoint within ~1.6 s (the SDK sends at most one heartbeat per 0.8 × timeout)
        // and the kill lands mid-training; the retry starts ~2 s after it.
        heartbeat: '2s',
        retry: { maxAttempts: 3, initialInterval: '500ms' },
        params: { ...trainParams, source: join(config.home, 'flights-6k.parquet') },
      },
    ],
  });
  const handle = await startRun(client, config, spec, { runParams: {} });

  // Kill the worker once the server holds a heartbeat that far in: a real crash mid-run.
  const seen = await waitForHeartbeat(handle, atLeast);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));

  // A fresh worker takes the retry (after attempt 1 times out on the server).
  const train = await Worker.create({
    connection,
    taskQueue: config.taskQueues.train,
    activities: createActivities({ home: config.home, dataRoots: config.dataRoots }),
  });
  const trainDone = train.run();
  try {
    const status = await followRun(handle, () => undefined);
    const step = status.steps[0]!;
    const output = step.output as unknown as TrainModelOutput;
    expect(status.state).toBe('succeeded');
    expect(step.attempt).toBe(2);
    expect(output.resumedFromEpoch).toBeGreaterThanOrEqual(seen.epoch);
    return output;
  } finally {
    train.shutdown();
    await trainDone;
  }
}

/** Train the same params in this process without interruption; both manifests, to compare. */
async function againUninterrupted(trainParams: object, output: TrainModelOutput) {
  const parsed = trainStepSchema.parse(trainParams);
  const { sha256, bytes } = await sha256File(source);
  const whole = await trainOnDataset({
    dataset: { path: source, uri: join(config.home, 'flights-6k.parquet'), sha256, bytes },
    features: parsed.features,
    label: parsed.label,
    split: parsed.split,
    trainer: parsed.trainer,
  });
  const store = createArtifactStore(config.home);
  const ref = await saveModel(store, whole.forest ?? whole.files!, whole.transform, whole.metadata);
  const resumed = await readModelManifest(store, output.model);
  const uninterrupted = await readModelManifest(store, ref);
  expect(resumed.metadata.training).toEqual(uninterrupted.metadata.training);
  expect(resumed.transform).toEqual(uninterrupted.transform);
  expect({ ...resumed.metadata, backend: null }).toEqual({ ...uninterrupted.metadata, backend: null });
  return { resumed, uninterrupted };
}

function startTrainWorker(): ChildProcess {
  const fixture = fileURLToPath(new URL('./fixtures/train-worker.ts', import.meta.url));
  return spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.split('\n').some((line) => pattern.test(line))) resolve();
    });
    child.once('exit', (code) => reject(new Error(`train worker exited (${code}) before ready`)));
  });
}

/** Poll the workflow's pending activity until its heartbeat details report at least `epoch`. */
async function waitForHeartbeat(
  handle: WorkflowHandle<typeof dagWorkflow>,
  epoch: number,
): Promise<{ epoch: number }> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const description = await handle.describe();
    const payload = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
    if (payload) {
      const details = defaultPayloadConverter.fromPayload<{ epoch: number } | undefined>(payload);
      if (details && details.epoch >= epoch) return details;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no heartbeat for epoch ${epoch} within 60 s`);
}
