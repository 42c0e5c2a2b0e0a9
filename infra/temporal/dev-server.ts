import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ConfigurationError, DependencyUnavailableError } from '../../pipelines/errors.js';
import { sluiceSearchAttributes } from '../../pipelines/search-attributes.js';
import { splitAddress } from '../../lib/config.js';
import type { SluiceConfig } from '../../lib/config.js';
import { locateTemporalCli, type TemporalCli } from './cli-provision.js';
import { ensureNamespaceReady, portOpen, probeTemporal } from './cluster.js';

export interface DevServerOptions {
  cli: TemporalCli;
  /** `host:port` the frontend listens on. */
  address: string;
  namespace: string;
  /** Web UI port; `false` runs headless (the tests). */
  uiPort: number | false;
  /**
   * The HTTP API's port (the read path of `runs`, `status`, `models`: client/reads.ts); omitted, the
   * server picks one nobody is told about.
   */
  httpPort?: number;
  /** SQLite file that keeps histories across restarts; omit for an in-memory server (the tests). */
  dbFile?: string;
  /** Where the server's own output goes (it never mixes with Sluice's stdout). */
  logFile: string;
  /** How long to wait for the frontend to answer (default 60 s). */
  readyTimeoutMs?: number;
}

/** A dev server Sluice started; `stop()` ends the server process and waits for it. */
export interface DevServer {
  address: string;
  /** The HTTP API's base URL, when a port was asked for. */
  httpAddress: string | undefined;
  uiUrl: string | undefined;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * A throwaway headless, in-memory dev server for the test run, a bench or a history recording: the
 * Temporal CLI located as `sluice dev` locates it (cache in `cacheDir`), never downloaded by the SDK,
 * since these need a binary on this machine.
 */
export async function startScratchDevServer(
  config: Pick<SluiceConfig, 'temporal' | 'searchPath'>,
  options: {
    address: string;
    logFile: string;
    cacheDir: string;
    httpPort?: number;
    onProgress?: (line: string) => void;
  },
): Promise<{ cli: Exclude<TemporalCli, { source: 'sdk-download' }>; server: DevServer }> {
  const cli = await locateTemporalCli({
    envPath: config.temporal.cliPath,
    searchPath: config.searchPath,
    cacheDir: options.cacheDir,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  if (cli.source === 'sdk-download') {
    throw new ConfigurationError(
      'a scratch dev server needs a Temporal CLI binary on this machine: run `npx sluice setup` or set TEMPORAL_CLI_PATH',
    );
  }
  await mkdir(dirname(options.logFile), { recursive: true });
  const server = await startDevServer({
    cli,
    address: options.address,
    namespace: 'default',
    uiPort: false,
    logFile: options.logFile,
    ...(options.httpPort === undefined ? {} : { httpPort: options.httpPort }),
  });
  return { cli, server };
}

/**
 * Dynamic config for the embedded server. The history service's transfer queue is polled at most 20
 * times a second by default; every activity step costs two transfer tasks (the activity, then the
 * workflow task its result schedules), so once a short burst is spent a run advanced at ten steps a
 * second: the ~100 ms per step the orchestration bench used to show. Raised, a step costs ~15 ms. On a
 * cluster this is the operator's dynamic config (docs/benchmarks.md).
 */
export const devServerDynamicConfig: Readonly<Record<string, string>> = {
  'history.transferProcessorMaxPollRPS': '1000',
  // Eager activity dispatch: an activity scheduled on the workflow's own task queue comes back in the
  // reply to the workflow task that scheduled it, skipping one trip through matching (docs/benchmarks.md).
  'system.enableActivityEagerExecution': 'true',
};

/**
 * Start the Temporal CLI dev server as a child process with Sluice's namespace and search attributes,
 * and wait until its frontend answers.
 *
 * Refuses, before starting anything, when the frontend or UI port is taken: a Temporal server already
 * answering should be used instead (see {@link probeTemporal}); anything else is a clear error.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const { host, port } = splitAddress(options.address);
  if (await portOpen(host, port)) {
    throw new ConfigurationError(
      `port ${port} on ${host} is already in use by another process, so the dev server cannot start there: ` +
        'stop that process or set TEMPORAL_ADDRESS to a free host:port',
    );
  }
  if (options.uiPort !== false && (await portOpen(host, options.uiPort))) {
    throw new ConfigurationError(
      `port ${options.uiPort} (Temporal Web UI) is already in use by another process: stop it or set SLUICE_UI_PORT to a free port`,
    );
  }
  if (options.httpPort !== undefined && (await portOpen(host, options.httpPort))) {
    throw new ConfigurationError(
      `port ${options.httpPort} (the Temporal HTTP API) is already in use by another process: stop it or free the port`,
    );
  }
  const executable = await executablePath(options.cli);
  if (options.dbFile) await mkdir(dirname(options.dbFile), { recursive: true });
  await mkdir(dirname(options.logFile), { recursive: true });

  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--namespace',
    options.namespace,
  ];
  for (const key of sluiceSearchAttributes) args.push('--search-attribute', `${key.name}=Keyword`);
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.httpPort !== undefined) args.push('--http-port', String(options.httpPort));
  if (options.uiPort === false) args.push('--headless');
  else args.push('--ui-ip', host, '--ui-port', String(options.uiPort));
  args.push('--log-format', 'json', '--log-level', 'warn');
  for (const [key, value] of Object.entries(devServerDynamicConfig)) {
    args.push('--dynamic-config-value', `${key}=${value}`);
  }

  const log = await open(options.logFile, 'a');
  // Its own process group: a terminal's Ctrl-C reaches Sluice, which stops the worker first and then
  // the server, in that order.
  const child = spawn(executable, args, { stdio: ['ignore', log.fd, log.fd], detached: true });
  await log.close();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  try {
    await waitUntilReady(options, child, exited);
    const connection = await Connection.connect({ address: options.address });
    try {
      await ensureNamespaceReady(connection, options.namespace);
    } finally {
      await connection.close();
    }
  } catch (error) {
    await stopChild(child, exited);
    process.removeListener('exit', killOnExit);
    throw error;
  }
  return {
    address: options.address,
    httpAddress:
      options.httpPort === undefined
        ? undefined
        : `http://${host.includes(':') ? `[${host}]` : host}:${options.httpPort}`,
    uiUrl: options.uiPort === false ? undefined : `http://${host}:${options.uiPort}`,
    pid: child.pid ?? -1,
    logFile: options.logFile,
    async stop() {
      await stopChild(child, exited);
      process.removeListener('exit', killOnExit);
    },
  };
}

async function waitUntilReady(
  options: DevServerOptions,
  child: ChildProcess,
  exited: Promise<number | null>,
) {
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined || child.exitCode !== null) {
      throw new DependencyUnavailableError(
        `the Temporal dev server exited at start (code ${exitCode ?? child.exitCode}): ${await lastLine(options.logFile)} (full log: ${options.logFile})`,
      );
    }
    const probe = await probeTemporal(options.address, 1_000);
    if (probe.kind === 'temporal') return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new DependencyUnavailableError(
    `the Temporal dev server did not answer at ${options.address} within ${Math.round((options.readyTimeoutMs ?? 60_000) / 1000)} s: see ${options.logFile}`,
  );
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

async function lastLine(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-1)[0]?.slice(0, 400) ?? '(no output)';
}

/**
 * The binary to run. For the SDK's download path, let the SDK fetch and cache it (it starts and stops
 * a throw-away server to do so), then run the downloaded file like any other.
 */
async function executablePath(cli: TemporalCli): Promise<string> {
  if (cli.source !== 'sdk-download') return cli.path;
  await mkdir(cli.downloadDir, { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir: cli.downloadDir } },
  });
  await env.teardown();
  for (const name of await readdir(cli.downloadDir)) {
    const path = join(cli.downloadDir, name);
    const info = await stat(path);
    if (info.isFile() && name.startsWith('temporal') && (info.mode & 0o111) !== 0) return path;
  }
  throw new DependencyUnavailableError(
    `the SDK downloaded no Temporal CLI into ${cli.downloadDir}: install the Temporal CLI and set TEMPORAL_CLI_PATH`,
  );
}
