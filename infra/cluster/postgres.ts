import { execFile } from 'node:child_process';
import { chown, mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigurationError, DependencyUnavailableError } from '../../pipelines/errors.js';
import { executableProblem } from '../temporal/cli-provision.js';
import type { ClusterPaths } from './layout.js';
import { alive, commandLine, ensurePortsFree, lastLine } from './processes.js';

const run = promisify(execFile);

/** The system's PostgreSQL server binaries (Debian's `postgresql` package). */
export interface PostgresInstall {
  binDir: string;
  /** Major version, from the directory name. */
  version: string;
}

/** Who runs PostgreSQL: this process's user, or `postgres` when this process is root (initdb refuses root). */
interface RunAs {
  uid?: number;
  gid?: number;
  name: string;
}

const installHint =
  'install it: `apt-get install -y postgresql` (Debian/Ubuntu, as root), or put a PostgreSQL 12+ ' +
  'server (initdb, pg_ctl, postgres) in /usr/lib/postgresql/<version>/bin';

/**
 * Find PostgreSQL's server binaries under `/usr/lib/postgresql/<version>/bin`, preferring 15 (what
 * CI installs), else the newest version 12 or later.
 *
 * @throws DependencyUnavailableError saying how to install it.
 */
export async function locatePostgres(root = '/usr/lib/postgresql'): Promise<PostgresInstall> {
  const versions = (await readdir(root).catch(() => [] as string[]))
    .filter((name) => /^\d+$/.test(name) && Number(name) >= 12)
    .sort((a, b) => (a === '15' ? -1 : b === '15' ? 1 : Number(b) - Number(a)));
  for (const version of versions) {
    const binDir = join(root, version, 'bin');
    const problems = await Promise.all(
      ['initdb', 'pg_ctl', 'postgres'].map((tool) => executableProblem(join(binDir, tool))),
    );
    if (problems.every((problem) => problem === undefined)) return { binDir, version };
  }
  throw new DependencyUnavailableError(
    `PostgreSQL is not installed (no ${root}/<version>/bin/pg_ctl): ${installHint}`,
    {
      details: { searched: root },
    },
  );
}

async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return { name: process.env['USER'] ?? 'this user' };
  try {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    return { uid, gid, name: 'postgres' };
  } catch {
    throw new DependencyUnavailableError(
      `running as root, PostgreSQL must run as the "postgres" user, and there is none: ${installHint}`,
    );
  }
}

/**
 * As root, PostgreSQL runs as `postgres`, which must be able to enter every directory above its data.
 *
 * @throws ConfigurationError naming the first directory it cannot enter and the fix.
 */
async function ensureReachable(dir: string, user: RunAs): Promise<void> {
  if (user.uid === undefined) return;
  for (let current = dirname(dir); ; current = dirname(current)) {
    const info = await stat(current);
    const enter =
      info.uid === user.uid
        ? (info.mode & 0o100) !== 0
        : info.gid === user.gid
          ? (info.mode & 0o010) !== 0
          : (info.mode & 0o001) !== 0;
    if (!enter) {
      throw new ConfigurationError(
        `PostgreSQL runs as the postgres user, which cannot enter ${current} (mode ${(info.mode & 0o777).toString(8)}): ` +
          `\`chmod o+x ${current}\`, or use a SLUICE_HOME under directories others may enter`,
        { details: { directory: current } },
      );
    }
    if (current === dirname(current)) return;
  }
}

function options(user: RunAs, cwd: string) {
  return {
    cwd,
    timeout: 120_000,
    env: { ...process.env, LC_ALL: 'C.UTF-8', ...(user.uid === undefined ? {} : { HOME: cwd }) },
    ...(user.uid === undefined ? {} : { uid: user.uid, gid: user.gid }),
  };
}

/**
 * The pid and port of the PostgreSQL serving `paths.postgres.data`, from its `postmaster.pid`, when
 * that process still runs PostgreSQL (a crash leaves the file behind; PostgreSQL recovers from that
 * itself at its next start). Read directly: `pg_ctl` refuses to run as root.
 */
export async function postgresProcess(
  install: PostgresInstall,
  paths: ClusterPaths,
): Promise<{ pid: number; port: number } | undefined> {
  const text = await readFile(join(paths.postgres.data, 'postmaster.pid'), 'utf8').catch(() => '');
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  const argv = await commandLine(pid);
  if (argv?.[0] !== join(install.binDir, 'postgres') && !argv?.[0]?.endsWith('postgres')) return undefined;
  return { pid, port: Number(lines[3]) };
}

/**
 * Create the database cluster once (as the `postgres` user when root: initdb refuses root; user
 * `temporal`, trust auth) and start it on 127.0.0.1:`port` with its socket under the cluster
 * directory. Idempotent: a running server is left alone; a crash's stale `postmaster.pid` is
 * PostgreSQL's own to recover from.
 */
export async function startPostgres(
  install: PostgresInstall,
  paths: ClusterPaths,
  port: number,
  onProgress: (line: string) => void = () => undefined,
): Promise<{ pid: number; started: boolean; seconds: number }> {
  const began = Date.now();
  const running = await postgresProcess(install, paths);
  if (running !== undefined) {
    if (running.port !== port) {
      throw new ConfigurationError(
        `PostgreSQL of this cluster already runs on port ${running.port}, not ${port}: run \`sluice cluster down\` first to move it`,
      );
    }
    return { pid: running.pid, started: false, seconds: 0 };
  }

  const user = await runAs();
  await mkdir(paths.postgres.dir, { recursive: true, mode: 0o755 });
  await ensureReachable(paths.postgres.dir, user);
  for (const dir of [paths.postgres.data, paths.postgres.socketDir]) {
    await mkdir(dir, { recursive: true, mode: dir === paths.postgres.data ? 0o700 : 0o755 });
    if (user.uid !== undefined) await chown(dir, user.uid, user.gid ?? user.uid);
  }
  await mkdir(dirname(paths.postgres.log), { recursive: true });
  await (await open(paths.postgres.log, 'a')).close();
  if (user.uid !== undefined) await chown(paths.postgres.log, user.uid, user.gid ?? user.uid);
  const socket = join(paths.postgres.socketDir, `.s.PGSQL.${port}`);
  if (Buffer.byteLength(socket) > 107) {
    throw new ConfigurationError(
      `PostgreSQL's socket path ${socket} is longer than the 107 bytes Linux allows: use a shorter SLUICE_HOME`,
    );
  }

  const exec = options(user, paths.postgres.dir);
  if (!(await stat(join(paths.postgres.data, 'PG_VERSION')).catch(() => undefined))) {
    onProgress(
      `creating the PostgreSQL ${install.version} database cluster in ${paths.postgres.data} (as ${user.name})`,
    );
    try {
      await run(
        join(install.binDir, 'initdb'),
        ['-D', paths.postgres.data, '-U', 'temporal', '--auth=trust', '-E', 'UTF8', '--no-instructions'],
        exec,
      );
    } catch (error) {
      throw new DependencyUnavailableError(
        `initdb ${paths.postgres.data} failed: ${stderrOf(error)}. Remove ${paths.postgres.data} and run \`sluice cluster up\` again`,
        { cause: error },
      );
    }
  }
  await ensurePortsFree([{ port, name: 'PostgreSQL' }], '--postgres-port');
  const serverOptions = `-p ${port} -k ${paths.postgres.socketDir} -c listen_addresses=127.0.0.1`;
  try {
    await run(
      join(install.binDir, 'pg_ctl'),
      ['-D', paths.postgres.data, '-o', serverOptions, '-l', paths.postgres.log, '-w', '-t', '60', 'start'],
      exec,
    );
  } catch (error) {
    throw new DependencyUnavailableError(
      `PostgreSQL did not start on 127.0.0.1:${port} within 60 s: ${await lastLine(paths.postgres.log)} (read ${paths.postgres.log})`,
      { cause: error, details: { logFile: paths.postgres.log } },
    );
  }
  const pid = (await postgresProcess(install, paths))?.pid;
  if (pid === undefined) {
    throw new DependencyUnavailableError(`PostgreSQL started and stopped again: read ${paths.postgres.log}`);
  }
  return { pid, started: true, seconds: (Date.now() - began) / 1000 };
}

/** `pg_ctl stop -m fast`: open sessions are rolled back, the server shuts down cleanly (60 s deadline). */
export async function stopPostgres(install: PostgresInstall, paths: ClusterPaths): Promise<boolean> {
  if ((await postgresProcess(install, paths)) === undefined) return false;
  const user = await runAs();
  try {
    await run(
      join(install.binDir, 'pg_ctl'),
      ['-D', paths.postgres.data, '-m', 'fast', '-w', '-t', '60', 'stop'],
      options(user, paths.postgres.dir),
    );
  } catch (error) {
    throw new DependencyUnavailableError(
      `PostgreSQL did not stop within 60 s: ${stderrOf(error)} (read ${paths.postgres.log})`,
      { cause: error },
    );
  }
  return true;
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: string }).stderr ?? '';
  return stderr.trim().split('\n').slice(-2).join(' ') || (error as Error).message;
}
