import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem, tmpdir, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { table } from '../lib/text-table.js';
import type { TemporalCli } from '../infra/temporal/cli-provision.js';
import { startScratchDevServer, type DevServer } from '../infra/temporal/dev-server.js';
import { freePort, projectRoot } from '../test/support/paths.js';
import { loadConfig, type SluiceConfig } from '../lib/config.js';

/** What a bench returns: one table of figures (each beside its baseline) and anything else worth keeping. */
export interface BenchResult {
  name: string;
  description: string;
  rows: Record<string, string | number>[];
  notes?: string[];
  /** The headline ratios (figure ÷ its baseline), written as a top-level `ratios` object in the JSON. */
  ratios?: Record<string, number>;
  extra?: Record<string, unknown>;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  at: string;
}

export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
    at: new Date().toISOString(),
  };
}

export const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));

/** Print the result as a table and write it, with machine info, to `bench/results/<name>.json`. */
export async function report(result: BenchResult): Promise<string> {
  const machine = machineInfo();
  const columns = [...new Set(result.rows.flatMap((row) => Object.keys(row)))];
  const cells = [columns, ...result.rows.map((row) => columns.map((c) => format(row[c])))];
  process.stdout.write(
    `\n${result.name}: ${result.description}\n${machine.cpu} · ${machine.cores} cores · ${machine.node}\n\n`,
  );
  process.stdout.write(`${table(cells)}\n`);
  for (const [name, ratio] of Object.entries(result.ratios ?? {})) {
    process.stdout.write(`\n${name}: ${ratio.toFixed(2)}`);
  }
  for (const note of result.notes ?? []) process.stdout.write(`\n${note}`);
  await mkdir(resultsDir, { recursive: true });
  const path = `${resultsDir}${result.name}.json`;
  await writeFile(path, `${JSON.stringify({ ...result, machine }, null, 2)}\n`);
  process.stdout.write(`\n\nwritten ${path}\n`);
  return path;
}

function format(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return value;
}

/**
 * Run a bench child (a TypeScript file, through tsx) in its own Node process and parse the last line it
 * prints on stdout as JSON: a figure such as peak RSS (`process.resourceUsage().maxRSS`) is then the
 * child's own, not the bench process's. Its stderr passes through; a non-zero exit rejects.
 */
export function runChild<T>(script: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.once('error', reject);
    proc.once('exit', (code) => {
      if (code !== 0) reject(new Error(`bench child ${script} ${args.join(' ')} exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as T);
    });
  });
}

/** The p-th percentile (0–100) of `values`, by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** A private Temporal dev server (in-memory SQLite) on a free port, with a fresh `SLUICE_HOME`. */
export interface BenchTemporal {
  home: string;
  address: string;
  /** The server's HTTP API (`TEMPORAL_HTTP_ADDRESS` for the read-only control commands). */
  httpAddress: string;
  /** Sluice's config for this server and home (log level `warn`). */
  config: SluiceConfig;
  cli: TemporalCli;
  server: DevServer;
  client: Client;
  /** Close the client, stop the server, remove the home. Stop workers first. */
  close(): Promise<void>;
}

/**
 * Start the dev server every bench measures against, the way `sluice dev` does (the CLI from
 * `.sluice/bin`, Sluice's search attributes), in a temporary home named after the bench.
 */
export async function startBenchTemporal(bench: string): Promise<BenchTemporal> {
  const home = await mkdtemp(join(tmpdir(), `sluice-bench-${bench}-`));
  const address = `127.0.0.1:${await freePort()}`;
  const config = loadConfig(
    { ...process.env, TEMPORAL_ADDRESS: address, SLUICE_HOME: home, SLUICE_LOG_LEVEL: 'warn' },
    projectRoot,
  );
  const { cli, server } = await startScratchDevServer(config, {
    address,
    logFile: join(home, 'temporal.log'),
    cacheDir: join(projectRoot, '.sluice', 'bin'),
    httpPort: await freePort(),
  });
  const client = new Client({ connection: await Connection.connect({ address }) });
  return {
    home,
    address,
    httpAddress: server.httpAddress ?? '',
    config,
    cli,
    server,
    client,
    async close() {
      await client.connection.close();
      await server.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Whether `sluice` runs the compiled dist/ now (cli/bin.js's own check: built from these sources). */
export async function distUsed(): Promise<boolean> {
  const stamp = (await import(new URL('../cli/source-stamp.js', import.meta.url).href)) as {
    distIsCurrent: (root: string) => boolean;
  };
  return stamp.distIsCurrent(projectRoot);
}

/**
 * A module as `sluice` would run it: the compiled one under dist/ while dist/ is current, else the
 * TypeScript source (through tsx, as `npm run bench` loads the benches). `path` is relative to the
 * project root, without extension (`serving/server`). A bench that times the code itself says which.
 */
export async function asSluiceRuns<T>(path: string): Promise<{ module: T; compiled: boolean }> {
  const compiled = await distUsed();
  const url = new URL(compiled ? `../dist/${path}.js` : `../${path}.ts`, import.meta.url);
  return { module: (await import(url.href)) as T, compiled };
}
