import type { Command } from 'commander';
import { pino } from 'pino';
import { ensureHomeWritable } from '../../worker/home.js';
import { createLogger } from '../../worker/logging.js';
import { startWorker } from '../../worker/run.js';
import { untilShutdownSignal } from './lifecycle.js';
import { context } from '../commands/shared.js';

export async function workerAction(command: Command): Promise<void> {
  const { config, out } = context(command);
  await ensureHomeWritable(config.home);
  // Containers collect stdout: the JSON log lines go there (to stderr under --json).
  const log = createLogger(config, pino.destination({ dest: out.json ? 2 : 1, sync: false }));
  const worker = await startWorker(config, log);
  const signal = await Promise.race([untilShutdownSignal(), worker.done.then(() => undefined)]);
  if (signal) log.info({ signal }, 'shutting down');
  await worker.shutdown();
  if (out.json) out.result({ stopped: true, signal: signal ?? null }, () => '');
}
