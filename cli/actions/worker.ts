import type { Command } from 'commander';
import { pino } from 'pino';
import { ensureNamespaceReady } from '../../infra/temporal/cluster.js';
import { ensureHomeWritable } from '../../worker/home.js';
import { createLogger } from '../../worker/logging.js';
import { startWorker } from '../../worker/run.js';
import { connectClient } from '../../client/connect.js';
import { loadStepModules } from '../../pipelines/step-modules.js';
import { context } from '../commands/shared.js';
import { untilShutdownSignal } from './lifecycle.js';

export async function workerAction(options: { steps: string[] }, command: Command): Promise<void> {
  const { config, out } = context(command);
  // Refuse a bad step module before connecting to anything: nothing half-registered.
  const steps = await loadStepModules([...config.steps, ...options.steps]);
  await ensureHomeWritable(config.home);
  // Containers collect stdout: the JSON log lines go there (to stderr under --json).
  const log = createLogger(config, pino.destination({ dest: out.json ? 2 : 1, sync: false }));
  // Fail fast with the fix when nothing answers, and make sure Sluice's search attributes exist (a
  // cluster may forbid that to workers: then say so and go on, runs will fail to start until it's done).
  const client = await connectClient(config);
  try {
    await ensureNamespaceReady(client.connection, config.temporal.namespace);
  } catch (error) {
    log.warn(
      { err: error, namespace: config.temporal.namespace },
      'could not register Sluice search attributes; ask an operator to add SluicePipeline, SluiceModel, SluiceStage, SluiceApproval, SluiceTrigger (Keyword)',
    );
  } finally {
    await client.connection.close();
  }
  const worker = await startWorker(config, log, { steps });
  const signal = await Promise.race([untilShutdownSignal(), worker.done.then(() => undefined)]);
  if (signal) log.info({ signal }, 'shutting down');
  await worker.shutdown();
  if (out.json) out.result({ stopped: true, signal: signal ?? null }, () => '');
}
