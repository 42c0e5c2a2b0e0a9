import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigurationError, DependencyUnavailableError } from '../../pipelines/errors.js';
import { portOpen } from '../temporal/cluster.js';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a process with this pid exists (it may belong to another user: EPERM still means alive). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process, or undefined (gone, or not Linux). */
export async function commandLine(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/**
 * The pid recorded in `pidFile` when that process still runs `binary`; a pid file left by a crash (no
 * such process, or the pid reused by something else) is removed and undefined returned.
 */
export async function runningPid(pidFile: string, binary: string): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const pid = Number(text.trim());
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
    const argv = await commandLine(pid);
    if (argv?.[0] === binary) return pid;
  }
  await rm(pidFile, { force: true });
  return undefined;
}

/**
 * Start `binary` in its own session, detached from this process (it outlives `sluice cluster up`),
 * output appended to `logFile`, and record its pid in `pidFile`.
 */
export async function startDaemon(options: {
  binary: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
}): Promise<number> {
  await mkdir(dirname(options.logFile), { recursive: true });
  await mkdir(dirname(options.pidFile), { recursive: true });
  const log = await open(options.logFile, 'a');
  try {
    const child = spawn(options.binary, options.args, {
      stdio: ['ignore', log.fd, log.fd],
      detached: true,
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid ?? -1));
    });
    child.unref();
    await writeFile(options.pidFile, `${pid}\n`);
    return pid;
  } finally {
    await log.close();
  }
}

/**
 * SIGTERM, wait up to `timeoutMs` for the process to go, then SIGKILL. Resolves once it is gone and
 * its pid file removed.
 */
export async function stopDaemon(
  pid: number,
  pidFile: string,
  timeoutMs = 30_000,
): Promise<'stopped' | 'killed'> {
  let outcome: 'stopped' | 'killed' = 'stopped';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) {
    outcome = 'killed';
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await sleep(50);
  }
  await rm(pidFile, { force: true });
  return outcome;
}

/**
 * Poll `ready` until it says yes, the process dies, or `timeoutMs` passes; the errors name the log.
 */
export async function waitReady(options: {
  what: string;
  pid: number;
  logFile: string;
  timeoutMs: number;
  ready: () => Promise<boolean>;
}): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(options.pid)) {
      throw new DependencyUnavailableError(
        `${options.what} exited at start: ${await lastLine(options.logFile)} (read ${options.logFile})`,
        { details: { logFile: options.logFile } },
      );
    }
    if (await options.ready()) return;
    await sleep(250);
  }
  throw new DependencyUnavailableError(
    `${options.what} did not become ready within ${Math.round(options.timeoutMs / 1000)} s: read ${options.logFile}`,
    { details: { logFile: options.logFile } },
  );
}

/** The last non-empty line of a log (at most 400 characters), for a one-line error. */
export async function lastLine(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-1)[0]?.slice(0, 400) || '(no output)';
}

/**
 * Refuse to start a part when one of its ports already answers: another process holds it.
 *
 * @throws ConfigurationError naming the port, what needs it and the flag that moves it.
 */
export async function ensurePortsFree(ports: { port: number; name: string }[], flag: string): Promise<void> {
  for (const { port, name } of ports) {
    if (await portOpen('127.0.0.1', port, 500)) {
      throw new ConfigurationError(
        `port ${port} on 127.0.0.1 (${name}) is already in use by another process: stop it, or run ` +
          `\`sluice cluster down\` and choose other ports with ${flag}`,
        { details: { port, name } },
      );
    }
  }
}
