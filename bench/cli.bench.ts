import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { pino } from 'pino';
import { readAuditInputs, replayHistories, workflowTypes } from '../audit/index.js';
import { createLogger } from '../worker/logging.js';
import { loadPrebuiltBundle } from '../worker/prebuilt-bundle.js';
import { startWorker, workflowsPath, type RunningWorker } from '../worker/run.js';
import { projectRoot, sluiceBin } from '../test/support/paths.js';
import { distUsed, startBenchTemporal, type BenchResult } from './harness.js';

/**
 * How fast the `sluice` control commands answer, beside `temporal workflow list` against the same dev
 * server, measured side by side (each round runs every command once, in turn); and how long a worker
 * takes to start with the prebuilt workflow bundle versus bundling `workflows/` at start.
 * `--quick`: 5 rounds instead of 15.
 */
export async function run(args: string[]): Promise<BenchResult> {
  const rounds = args.includes('--quick') ? 5 : 15;
  const loadBefore = loadavg();
  const temporal = await startBenchTemporal('cli');
  const { home, config, address, cli, httpAddress } = temporal;
  const log = createLogger(config, pino.destination({ dest: join(home, 'worker.log'), sync: false }));
  // The read-only commands use the server's HTTP API, as after `sluice dev` (which records it) or with
  // TEMPORAL_HTTP_ADDRESS set on a cluster; the `(gRPC)` rows turn it off to show the other path.
  const env = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_HTTP_ADDRESS: httpAddress,
    SLUICE_HOME: home,
    SLUICE_LOG_LEVEL: 'warn',
  };
  const grpc = { TEMPORAL_HTTP_ADDRESS: 'off' };
  const workers: RunningWorker[] = [];
  try {
    // Worker start: the prebuilt bundle (what `npm run build` wrote) first, so it also pays the cold
    // module loads; then bundling workflows/ with webpack as a worker without dist/ does.
    const prebuilt = loadPrebuiltBundle();
    const prebuiltMs = await timedAsync(async () => {
      workers.push(await startWorker(config, log));
    });
    const bundledMs = await timedAsync(async () => {
      const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quiet });
      workers.push(await startWorker(config, log, { workflowBundle: bundle }));
    });
    await workers.pop()?.shutdown();

    // `sluice audit replay` takes its workflow code the same way (audit/workflow-bundle.ts): one
    // committed history replayed with the prebuilt bundle, then with workflows/ bundled first.
    const { histories } = await readAuditInputs([
      join(projectRoot, 'test', 'histories', 'first-dag-succeeded.json'),
    ]);
    const types = await workflowTypes();
    const replay = async (bundle: { code: string; sourceMap: string }) => {
      const [outcome] = await replayHistories(histories, bundle, types);
      if (!outcome?.ok) throw new Error('the bench history no longer replays: run test/replay');
    };
    const replayPrebuiltMs =
      'code' in prebuilt
        ? await timedAsync(() => replay({ code: prebuilt.code, sourceMap: '' }))
        : Number.NaN;
    const replayBundledMs = await timedAsync(async () =>
      replay(await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quiet })),
    );

    // A finished run for `status` to show (the worker answers its status query).
    const started = await command(process.execPath, [sluiceBin, 'run', 'first-dag', '--wait', '--json'], env);
    const runId = (JSON.parse(started.stdout) as { workflowId: string }).workflowId;

    if (!('path' in cli))
      throw new Error('the baseline needs the temporal CLI binary: set TEMPORAL_CLI_PATH');
    const commands: { name: string; file: string; args: string[]; env?: Record<string, string> }[] = [
      {
        name: 'temporal workflow list (baseline)',
        file: cli.path,
        args: ['workflow', 'list', '--address', address],
      },
      { name: 'sluice runs', file: process.execPath, args: [sluiceBin, 'runs'] },
      { name: 'sluice status <run>', file: process.execPath, args: [sluiceBin, 'status', runId] },
      { name: 'sluice --help', file: process.execPath, args: [sluiceBin, '--help'] },
      { name: 'sluice models', file: process.execPath, args: [sluiceBin, 'models'] },
      { name: 'sluice runs (gRPC)', file: process.execPath, args: [sluiceBin, 'runs'], env: grpc },
      {
        name: 'sluice status <run> (gRPC)',
        file: process.execPath,
        args: [sluiceBin, 'status', runId],
        env: grpc,
      },
      {
        name: 'sluice audit replay <one history>',
        file: process.execPath,
        args: [sluiceBin, 'audit', 'replay', join('test', 'histories', 'first-dag-succeeded.json')],
      },
      { name: 'node -e 0 (floor: Node itself)', file: process.execPath, args: ['-e', '0'] },
      {
        name: "node: import('@temporalio/client') (floor: the Temporal client)",
        file: process.execPath,
        args: ['--input-type=module', '-e', "await import('@temporalio/client')"],
      },
    ];
    const walls = new Map(commands.map((c) => [c.name, [] as number[]]));
    const outputs = new Map<string, string>();
    for (const c of commands) {
      // warm the page cache once, keeping what each printed to compare the two read paths below
      outputs.set(c.name, (await command(c.file, c.args, { ...env, ...c.env })).stdout);
    }
    for (const name of ['sluice runs', 'sluice status <run>']) {
      if (outputs.get(name) !== outputs.get(`${name} (gRPC)`)) {
        throw new Error(`${name} printed something else over HTTP than over gRPC: the read paths disagree`);
      }
    }
    for (let round = 0; round < rounds; round++) {
      for (const c of commands)
        walls.get(c.name)?.push((await command(c.file, c.args, { ...env, ...c.env })).ms);
    }
    const medians = new Map([...walls].map(([name, ms]) => [name, median(ms)]));
    const baseline = medians.get(commands[0]?.name ?? '') ?? Number.NaN;
    const vs = (name: string) => (medians.get(name) ?? Number.NaN) / baseline;
    const loadAfter = loadavg();
    const usedDist = await distUsed();
    return {
      name: 'cli',
      description: `median wall of ${rounds} side-by-side rounds against one dev server; worker start once each`,
      rows: [
        ...commands.map((c) => ({
          command: c.name,
          'median ms': medians.get(c.name) ?? Number.NaN,
          'min ms': Math.min(...(walls.get(c.name) ?? [])),
          'vs temporal list': vs(c.name),
        })),
        { command: 'worker start: prebuilt bundle (dist/)', 'median ms': prebuiltMs },
        { command: 'worker start: bundling workflows/ at start', 'median ms': bundledMs },
        {
          command: 'audit replay of one history: prebuilt bundle (in process)',
          'median ms': replayPrebuiltMs,
        },
        { command: 'audit replay of one history: bundling first (in process)', 'median ms': replayBundledMs },
      ],
      ratios: {
        runsVsTemporalList: vs('sluice runs'),
        statusVsTemporalList: vs('sluice status <run>'),
        runsGrpcVsTemporalList: vs('sluice runs (gRPC)'),
        helpVsTemporalList: vs('sluice --help'),
        modelsVsTemporalList: vs('sluice models'),
        workerStartPrebuiltVsBundling: prebuiltMs / bundledMs,
        auditReplayPrebuiltVsBundling: replayPrebuiltMs / replayBundledMs,
      },
      notes: [
        `sluice ran ${usedDist ? 'dist/ (built and current)' : 'the TypeScript sources through tsx (dist/ missing or stale: npm run build)'}; ` +
          `the worker ${'code' in prebuilt ? 'found the prebuilt bundle current' : `had no current prebuilt bundle (${prebuilt.reason})`}.`,
        `load average (1/5/15 min) before ${loadBefore.map((l) => l.toFixed(1)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(1)).join(' ')}.`,
      ],
      extra: { rounds, walls: Object.fromEntries(walls), loadBefore, loadAfter, usedDist },
    };
  } finally {
    for (const worker of workers) await worker.shutdown();
    await temporal.close();
  }
}

/** Run a command to its end (refusing a failure) and time it; async, so this process's worker keeps answering. */
function command(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(file, args, {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) resolve({ ms, stdout });
      else reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

async function timedAsync(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
