import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { projectRoot, sluiceBin } from '../../test/support/paths.js';
import type { SluiceConfig } from '../../lib/config.js';

/** `sluice worker` as its own process, the way an operator runs it; its output goes to `logFile`. */
export interface WorkerProcess {
  pid: number;
  logFile: string;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<string>;
  /** Its log lines counted by level, and the distinct messages at warn and above (first 10). */
  logSummary(): Promise<{ levels: Record<string, number>; problems: string[] }>;
}

/**
 * Start `node cli/bin.js worker` against the bench's server and home, and resolve once it logs
 * `worker started` (its workflow bundle built, both pools polling).
 */
export async function startWorkerProcess(
  config: SluiceConfig,
  logFile: string,
  env: Record<string, string> = {},
  readyTimeoutMs = 180_000,
): Promise<WorkerProcess> {
  const log = await open(logFile, 'a');
  const child = spawn(process.execPath, [sluiceBin, 'worker'], {
    cwd: projectRoot,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: config.temporal.address,
      TEMPORAL_NAMESPACE: config.temporal.namespace,
      SLUICE_HOME: config.home,
      SLUICE_TASK_QUEUE: config.taskQueues.orchestration,
      SLUICE_TRAIN_TASK_QUEUE: config.taskQueues.train,
      ...env,
    },
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit ${code}`)),
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (graceMs = 30_000) => {
    if (running()) child.kill('SIGTERM');
    const timer = setTimeout(() => running() && child.kill('SIGKILL'), graceMs);
    const how = await exited;
    clearTimeout(timer);
    process.removeListener('exit', killOnExit);
    return how;
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const output = await readFile(logFile, 'utf8').catch(() => '');
    if (output.includes('worker started')) break;
    if (!running() || Date.now() > deadline) {
      await stop(1000);
      throw new Error(`sluice worker did not start (see ${logFile}):\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const logSummary = async () => {
    const levels: Record<string, number> = {};
    const problems = new Set<string>();
    for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
      let entry: { level?: number; msg?: string };
      try {
        entry = JSON.parse(line) as { level?: number; msg?: string };
      } catch {
        continue;
      }
      const level = String(entry.level ?? 'none');
      levels[level] = (levels[level] ?? 0) + 1;
      if ((entry.level ?? 0) >= 40 && problems.size < 10) problems.add(String(entry.msg));
    }
    return { levels, problems: [...problems] };
  };
  return { pid: child.pid ?? -1, logFile, stop, logSummary };
}
