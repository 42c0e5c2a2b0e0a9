import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig, type SluiceConfig } from '../../lib/config.js';
import { createLogger, type Log } from '../../worker/logging.js';
import { startWorker, type RunningWorker } from '../../worker/run.js';
import { projectRoot } from './paths.js';

/**
 * Config for one test file: the shared dev server, its own SLUICE_HOME and its own task queues, so test
 * files running in parallel never take each other's tasks.
 */
export async function testConfig(
  env: Record<string, string> = {},
): Promise<{ config: SluiceConfig; env: Record<string, string> }> {
  const home = await mkdtemp(join(tmpdir(), 'sluice-test-'));
  const suffix = randomBytes(3).toString('hex');
  const http = inject('temporalHttpAddress') as string | undefined;
  const full = {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    // As after `sluice dev`: runs, status and models read over the HTTP API (cli-http-reads.test.ts
    // compares that path with gRPC).
    ...(http ? { TEMPORAL_HTTP_ADDRESS: http } : {}),
    TEMPORAL_CLI_PATH: inject('temporalCliPath'),
    SLUICE_HOME: home,
    // Private keys per test home, not ~/.sluice/keys: a key a demo run left there must not sign here.
    SLUICE_KEYS_DIR: join(home, 'keys'),
    SLUICE_TASK_QUEUE: `sluice-${suffix}`,
    SLUICE_TRAIN_TASK_QUEUE: `sluice-train-${suffix}`,
    SLUICE_DATA_ROOTS: `${projectRoot}:${home}`,
    SLUICE_LOG_LEVEL: 'warn',
    PATH: process.env['PATH'] ?? '',
    ...env,
  };
  return { config: loadConfig(full, projectRoot), env: full };
}

/** A real Sluice worker on the shared server, with the pre-built workflow bundle. */
export async function testWorker(config: SluiceConfig, log: Log = quietLog(config)): Promise<RunningWorker> {
  return startWorker(config, log, { workflowBundle: { codePath: inject('workflowBundlePath') } });
}

function quietLog(config: SluiceConfig): Log {
  return createLogger(config, pino.destination({ dest: join(config.home, 'worker.log'), sync: true }));
}

/** What a test file gets from {@link useTestWorker}: filled in before its tests run. */
export interface TestHarness {
  config: SluiceConfig;
  env: Record<string, string>;
  client: Client;
  /** Replaced when a test stops and restarts the worker. */
  worker: RunningWorker;
}

/**
 * One real worker and one client for a test file, on the shared dev server: started before the
 * file's tests (after `prepare`, e.g. writing a roles file into SLUICE_HOME), stopped after.
 */
export function useTestWorker(prepare?: (config: SluiceConfig) => Promise<void>): TestHarness {
  const harness = {} as TestHarness;
  beforeAll(async () => {
    const { config, env } = await testConfig();
    await prepare?.(config);
    harness.config = config;
    harness.env = env;
    harness.worker = await testWorker(config);
    harness.client = new Client({
      connection: await Connection.connect({ address: config.temporal.address }),
    });
  });
  afterAll(async () => {
    await harness.client?.connection.close();
    await harness.worker?.shutdown();
  });
  return harness;
}
