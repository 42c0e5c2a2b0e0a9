import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, sluiceBin } from '../support/paths.js';
import { testConfig } from '../support/worker.js';

const tracer = fileURLToPath(new URL('../support/module-trace.js', import.meta.url));

/** Run `sluice <args>` with the module tracer; resolve with its exit code, output and every module it loaded. */
async function traced(args: string[], env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-trace-'));
  const trace = join(dir, 'modules.txt');
  try {
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', tracer, sluiceBin, ...args], {
        cwd: projectRoot,
        env: { ...process.env, ...env, SLUICE_MODULE_TRACE: trace },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve({ code: exitCode, stdout, stderr }));
    });
    const modules = (await readFile(trace, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    return { code, stdout, stderr, modules };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What a control command must never load: the data engine, the ML runtime, the worker and its workflow bundle. */
const heavy = [
  { what: 'DuckDB', pattern: /node_modules\/@duckdb\// },
  { what: 'TF.js', pattern: /node_modules\/@tensorflow\// },
  { what: 'the Temporal worker (it bundles workflows)', pattern: /node_modules\/@temporalio\/worker\// },
  { what: 'the workflow bundle', pattern: /workflow-bundle|\/worker\/prebuilt-bundle\.[jt]s/ },
  { what: 'the activities', pattern: /\/activities\// },
];

function heavyLoaded(modules: string[]): string[] {
  return heavy.filter(({ pattern }) => modules.some((m) => pattern.test(m))).map(({ what }) => what);
}

let env: Record<string, string>;

beforeAll(async () => {
  ({ env } = await testConfig());
});

describe('control commands start light', () => {
  it.each([
    { args: ['--help'], code: 0, output: /Usage: sluice/ },
    { args: ['runs'], code: 0, output: /no runs match|^run +pipeline +status/m },
    { args: ['status', 'no-such-run'], code: 1, output: /no run "no-such-run"/ },
    { args: ['models'], code: 0, output: /no models registered yet|^model +versions/m }, // the registry is shared by the server's test files
    { args: ['approve', 'no-such-run', '--as', 'ada'], code: 1, output: /no run "no-such-run"/ },
  ])('sluice $args.0 answers without loading DuckDB, TF.js or the workflow bundle', async (c) => {
    const result = await traced(c.args, env);
    expect(`${result.stdout}${result.stderr}`).toMatch(c.output);
    expect(result.code).toBe(c.code);
    expect(result.modules.length).toBeGreaterThan(10); // the tracer saw the CLI itself
    expect(heavyLoaded(result.modules)).toEqual([]);
  });

  it('over the HTTP API, runs, status and models load no gRPC or protobuf runtime', async () => {
    expect(env['TEMPORAL_HTTP_ADDRESS']).toBeDefined();
    for (const args of [['runs'], ['status', 'no-such-run'], ['models']]) {
      const { modules, stdout, stderr } = await traced(args, env);
      expect(`${stdout}${stderr}`).not.toMatch(/not usable/);
      expect(modules.filter((m) => /node_modules\/(@temporalio|@grpc|protobufjs)\//.test(m))).toEqual([]);
    }
  });

  it('runs and status do not read the pipeline catalog', async () => {
    for (const args of [['runs'], ['status', 'no-such-run']]) {
      const { modules } = await traced(args, env);
      expect(modules.filter((m) => /pipelines\/catalog\.[jt]s|\.pipeline\.[jt]s/.test(m))).toEqual([]);
    }
  });

  it('the tracer does see DuckDB when a command needs it (sluice stats)', async () => {
    const result = await traced(['stats', 'node_modules/vega-datasets/data/penguins.json'], env);
    expect(result.code).toBe(0);
    expect(heavyLoaded(result.modules)).toContain('DuckDB');
  });
});
