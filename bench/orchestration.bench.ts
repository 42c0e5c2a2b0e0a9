import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { createActivities } from '../activities/index.js';
import { submitDecision } from '../client/approvals.js';
import { followRun, startRun } from '../client/runs.js';
import { createKey, openSigningKey, signApproval } from '../lib/keys.js';
import { definePipeline } from '../pipelines/define.js';
import { flightDelay } from '../pipelines/flight-delay.pipeline.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import type { StepInput } from '../pipelines/step.js';
import type { SluiceConfig } from '../lib/config.js';
import type { DagStatus } from '../workflows/index.js';
import { createLogger } from '../worker/logging.js';
import { startWorker } from '../worker/run.js';
import { percentile, startBenchTemporal, type BenchResult } from './harness.js';

/** The per-step target of issue 16 (ms), for the ratio. */
const TARGET_MS = 8;
const SHORT = 10;
const LONG = 30;
const FAN_OUT = 200;

/**
 * Per-step cost of the DAG workflow on a real dev server, through the path `sluice run --wait` takes
 * (`startRun`, then `followRun` polling every 300 ms as the CLI does): a 10- and a 30-step chain of
 * no-op steps run alternately, the per-step cost being the difference of their median walls over 20
 * steps (so start, completion and polling cancel out), beside the same activity called directly; a
 * 200-wide fan-out; and 2-step runs per second. `--quick`: fewer rounds and no lifecycle run.
 */
export async function run(args: string[]): Promise<BenchResult> {
  const quick = args.includes('--quick');
  const rounds = quick ? 5 : 12;
  const fanRounds = quick ? 2 : 5;
  const throughputRuns = quick ? 16 : 48;
  const loadBefore = loadavg();
  const temporal = await startBenchTemporal('orchestration');
  const { home, config, client, cli } = temporal;
  const log = createLogger(config, pino.destination({ dest: join(home, 'worker.log'), sync: false }));
  const worker = await startWorker(config, log);
  try {
    // Baseline: the same step activity, called directly (in a mock activity context), no Temporal.
    const noop = createActivities({ home, dataRoots: [home] }).noop;
    const env = new MockActivityEnvironment();
    const input: StepInput = {
      run: { pipeline: 'bench', workflowId: 'bench', runId: 'bench', trigger: 'manual' },
      step: 's',
      params: {},
      runParams: {},
      inputs: {},
    };
    const direct: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = process.hrtime.bigint();
      await env.run(noop, input);
      direct.push(Number(process.hrtime.bigint() - start) / 1e6);
    }

    const serverPid = temporal.server.pid;
    const chains = await chainCost(client, config, rounds, serverPid);
    // The same chain with `local: false`: every step an activity task (dispatched eagerly).
    const remote = await chainCost(client, config, rounds, serverPid, false);

    const fan = definePipeline({
      id: 'bench-fan-out',
      maxParallel: 64,
      steps: [
        { id: 'root', activity: 'noop' },
        ...Array.from({ length: FAN_OUT }, (_, i) => ({ id: `f${i}`, activity: 'noop', needs: ['root'] })),
        { id: 'join', activity: 'noop', needs: Array.from({ length: FAN_OUT }, (_, i) => `f${i}`) },
      ],
    });
    await runOnce(client, config, fan);
    const fanWalls: number[] = [];
    for (let r = 0; r < fanRounds; r++) fanWalls.push((await timedRun(client, config, fan)).wallMs);
    const fanWall = percentile(fanWalls, 50);

    const pair = definePipeline({
      id: 'bench-pair',
      steps: [
        { id: 'a', activity: 'noop' },
        { id: 'b', activity: 'noop', needs: ['a'] },
      ],
    });
    const throughput = async (concurrency: number) => {
      let next = 0;
      const started = performance.now();
      const latencies: number[] = [];
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < throughputRuns) {
            next++;
            latencies.push((await timedRun(client, config, pair)).wallMs);
          }
        }),
      );
      return {
        perSecond: throughputRuns / ((performance.now() - started) / 1000),
        p95: percentile(latencies, 95),
      };
    };
    const c1 = await throughput(1);
    const c16 = await throughput(16);

    const lifecycleRows = quick ? [] : await lifecycleRuns(client, config, home);
    const loadAfter = loadavg();
    const directMs = percentile(direct, 50);
    return {
      name: 'orchestration',
      description: `${SHORT}- vs ${LONG}-step no-op chains ×${rounds}, a ${FAN_OUT}-wide fan-out ×${fanRounds}, ${throughputRuns} two-step runs, on the Temporal dev server (in-memory SQLite)`,
      rows: [
        { measure: 'per step, direct call of the noop activity (baseline)', ms: directMs },
        { measure: `${SHORT}-step chain, run wall (median)`, ms: chains.shortMs },
        { measure: `${LONG}-step chain, run wall (median)`, ms: chains.longMs },
        {
          measure: `per step, (${LONG} − ${SHORT}) / ${LONG - SHORT} through startRun + followRun`,
          ms: chains.perStepMs,
        },
        {
          measure: `per step, in the workflow (schedule → result, workflow clock, p50)`,
          ms: chains.inWorkflowMs,
        },
        { measure: 'per step, CPU of the worker + client process', ms: chains.cpuPerStepMs },
        { measure: 'per step, CPU of the Temporal dev server', ms: chains.serverCpuPerStepMs },
        { measure: `${SHORT}-step chain, local: false, run wall (median)`, ms: remote.shortMs },
        { measure: `${LONG}-step chain, local: false, run wall (median)`, ms: remote.longMs },
        { measure: `per step, local: false (activity tasks, eager dispatch)`, ms: remote.perStepMs },
        { measure: 'per step, local: false, CPU of the worker + client process', ms: remote.cpuPerStepMs },
        { measure: 'per step, local: false, CPU of the Temporal dev server', ms: remote.serverCpuPerStepMs },
        { measure: `${FAN_OUT}-wide fan-out (+ root, join; maxParallel 64), run wall`, ms: fanWall },
        { measure: `${FAN_OUT}-wide fan-out, per step`, ms: fanWall / (FAN_OUT + 2) },
        { measure: 'two-step runs, concurrency 1', runs_per_s: c1.perSecond, p95_ms: c1.p95 },
        { measure: 'two-step runs, concurrency 16', runs_per_s: c16.perSecond, p95_ms: c16.p95 },
        ...lifecycleRows,
      ],
      ratios: {
        perStepMs: chains.perStepMs,
        perStepVsTarget: chains.perStepMs / TARGET_MS,
        perStepVsDirect: chains.perStepMs / directMs,
        remotePerStepMs: remote.perStepMs,
        cpuPerStepMs: chains.cpuPerStepMs + chains.serverCpuPerStepMs,
        fanOutPerStepMs: fanWall / (FAN_OUT + 2),
      },
      notes: [
        `Per step: the ${LONG}- and ${SHORT}-step chains run alternately; (median ${LONG} − median ${SHORT}) / ${LONG - SHORT}. Target ≤ ${TARGET_MS} ms (issue 16).`,
        `Load average (1, 5, 15 min) before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}.`,
      ],
      extra: {
        rounds,
        fanRounds,
        throughputRuns,
        shortWalls: chains.shortWalls,
        longWalls: chains.longWalls,
        remoteShortWalls: remote.shortWalls,
        remoteLongWalls: remote.longWalls,
        fanWalls,
        loadBefore,
        loadAfter,
        cli: cli.source,
      },
    };
  } finally {
    await worker.shutdown();
    await temporal.close();
  }
}

/** The chain of `n` no-op steps. */
function chain(n: number, id: string, local: boolean | undefined): PipelineSpec {
  return definePipeline({
    id,
    steps: Array.from({ length: n }, (_, i) => ({
      id: `s${i}`,
      activity: 'noop',
      needs: i === 0 ? [] : [`s${i - 1}`],
      ...(local === undefined ? {} : { local }),
    })),
  });
}

async function chainCost(
  client: Client,
  config: SluiceConfig,
  rounds: number,
  serverPid: number,
  local?: boolean,
) {
  const tag = local === undefined ? '' : `-local-${local}`;
  const short = chain(SHORT, `bench-chain-${SHORT}${tag}`, local);
  const long = chain(LONG, `bench-chain-${LONG}${tag}`, local);
  await runOnce(client, config, short); // warm-up: workflow code, caches, connections
  await runOnce(client, config, long);
  const shortWalls: number[] = [];
  const longWalls: number[] = [];
  const inWorkflow: number[] = [];
  const cpu = {
    short: [] as number[],
    long: [] as number[],
    serverShort: [] as number[],
    serverLong: [] as number[],
  };
  for (let r = 0; r < rounds; r++) {
    let mark = cpuMark(serverPid);
    shortWalls.push((await timedRun(client, config, short)).wallMs);
    let used = cpuSince(mark, serverPid);
    cpu.short.push(used.processMs);
    cpu.serverShort.push(used.serverMs);
    mark = cpuMark(serverPid);
    const longRun = await timedRun(client, config, long);
    used = cpuSince(mark, serverPid);
    cpu.long.push(used.processMs);
    cpu.serverLong.push(used.serverMs);
    longWalls.push(longRun.wallMs);
    for (const step of longRun.status.steps) inWorkflow.push(step.durationMs ?? Number.NaN);
  }
  const shortMs = percentile(shortWalls, 50);
  const longMs = percentile(longWalls, 50);
  const perStep = (longValues: number[], shortValues: number[]) =>
    (percentile(longValues, 50) - percentile(shortValues, 50)) / (LONG - SHORT);
  return {
    shortMs,
    longMs,
    shortWalls,
    longWalls,
    perStepMs: (longMs - shortMs) / (LONG - SHORT),
    inWorkflowMs: percentile(inWorkflow, 50),
    cpuPerStepMs: perStep(cpu.long, cpu.short),
    serverCpuPerStepMs: perStep(cpu.serverLong, cpu.serverShort),
  };
}

/** The full demo lifecycle, approved by a bot as soon as its gate opens; then again, from the step cache. */
async function lifecycleRuns(client: Client, config: SluiceConfig, home: string) {
  await writeFile(join(home, 'roles.json'), JSON.stringify({ roles: { risk: ['bench-approver'] } }));
  // The demo's gate takes signed decisions only: the bot signs with a key registered before the runs.
  const { privateKeyFile } = await createKey({
    identity: 'bench-approver',
    keysFile: config.keys.file,
    keysDir: join(home, 'private'),
  });
  const key = await openSigningKey(privateKeyFile);
  const lifecycle = async (): Promise<{ wallMs: number; status: DagStatus }> => {
    const started = performance.now();
    const handle = await startRun(client, config, flightDelay, { runParams: {}, startedBy: 'bench' });
    const status = await followRun(
      handle,
      () => undefined,
      100,
      (gate) => {
        void submitDecision(client, config.temporal.namespace, handle.workflowId, {
          approver: 'bench-approver',
          decision: 'approve',
          modelVersion: gate.modelVersion,
          sign: (claim) => signApproval(key, claim),
        });
      },
    );
    return { wallMs: performance.now() - started, status };
  };
  const cold = await lifecycle();
  const warm = await lifecycle();
  const stepMs = (run: { status: DagStatus }, id: string) =>
    run.status.steps.find((s) => s.id === id)?.durationMs ?? Number.NaN;
  return [
    ...flightDelay.steps.map((step) => ({
      measure: `lifecycle step ${step.id}${step.cache ? ' (cacheable)' : ''}`,
      first_run_ms: stepMs(cold, step.id),
      second_run_ms: stepMs(warm, step.id),
    })),
    {
      measure: 'lifecycle run, wall time (flight-delay, bot approval)',
      first_run_ms: cold.wallMs,
      second_run_ms: warm.wallMs,
    },
  ];
}

/** CPU used so far by this process (worker and client) and by the dev server (from /proc; Linux). */
function cpuMark(serverPid: number): { process: NodeJS.CpuUsage; serverMs: number } {
  return { process: process.cpuUsage(), serverMs: serverCpuMs(serverPid) };
}

function cpuSince(mark: ReturnType<typeof cpuMark>, serverPid: number) {
  const used = process.cpuUsage(mark.process);
  return { processMs: (used.user + used.system) / 1000, serverMs: serverCpuMs(serverPid) - mark.serverMs };
}

/** utime + stime of a process in ms (clock ticks of 10 ms), or NaN where /proc is not there. */
function serverCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** One run as `sluice run --wait` makes it: start, then follow (status polled every 300 ms) to the end. */
async function runOnce(client: Client, config: SluiceConfig, spec: PipelineSpec): Promise<DagStatus> {
  return followRun(await startRun(client, config, spec, { runParams: {} }), () => undefined, 300);
}

async function timedRun(client: Client, config: SluiceConfig, spec: PipelineSpec) {
  const started = performance.now();
  const status = await runOnce(client, config, spec);
  return { wallMs: performance.now() - started, status };
}
