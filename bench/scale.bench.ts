import { rm } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../lib/config.js';
import { sluice } from '../test/support/cli.js';
import { projectRoot } from '../test/support/paths.js';
import { cluster, clusterHome, envFile, freePortBlock } from '../test/cluster/support.js';
import { distUsed, type BenchResult } from './harness.js';
import { ends, spread } from './load/runs.js';
import { scalePipelineId, stepsBeforeGate } from './scale/lifecycle.js';
import { oneMachineBound, projectWorkers, type PerRunCosts } from './scale/model.js';
import {
  measurePhase,
  RUN_DEADLINE_MS,
  type PhaseResult,
  type PhaseSpec,
  type ServerPids,
} from './scale/phase.js';

const projected = [1, 2, 3, 4, 8, 16, 32];

/**
 * The same lifecycle runs, all started at once, on the cluster `sluice cluster up` starts (PostgreSQL,
 * the Temporal server on it, MinIO): one worker on its local store, one worker on MinIO, three worker
 * processes (separate homes) on MinIO. Reports wall, CPU per run, run-queue and task-queue wait, and
 * from the measured per-run costs what N workers would sustain. `--quick`: 6 runs instead of 20.
 */
export async function run(args: string[] = []): Promise<BenchResult> {
  const quick = args.includes('--quick');
  const runs = quick ? 6 : 20;
  const loadBefore = loadavg();
  const home = await clusterHome();
  let up = false;
  try {
    const base = await freePortBlock(14);
    const upFrom = performance.now();
    const report = await cluster('up', home, [
      '--temporal-port',
      String(base),
      '--postgres-port',
      String(base + 11),
      '--minio-port',
      String(base + 12),
    ]);
    up = true;
    const upMs = performance.now() - upFrom;
    const clusterEnv = await envFile(home);
    const pid = (part: string) => {
      const found = report.parts.find((p) => p.part === part)?.pid;
      if (!found) throw new Error(`scale bench: sluice cluster up reported no pid for ${part}`);
      return found;
    };
    const servers: ServerPids = { temporal: pid('temporal'), postgres: pid('postgres'), minio: pid('minio') };
    const runConfig = loadConfig({ ...clusterEnv, SLUICE_HOME: home, SLUICE_LOG_LEVEL: 'warn' }, projectRoot);
    const client = new Client({
      connection: await Connection.connect({ address: runConfig.temporal.address }),
      namespace: runConfig.temporal.namespace,
    });
    const phase = (name: string, workers: number, store: PhaseSpec['store']): PhaseSpec => ({
      name,
      workers,
      store,
      clusterEnv,
      prefix: `scale-${name}`,
      runs,
      aloneRun: !quick,
    });
    const results: PhaseResult[] = [];
    try {
      for (const spec of [
        phase('local-1', 1, 'local'),
        phase('minio-1', 1, 'minio'),
        phase('minio-3', 3, 'minio'),
      ]) {
        process.stderr.write(
          `scale: ${spec.name}: ${spec.workers} worker(s), ${spec.store} store, ${runs} runs\n`,
        );
        results.push(await measurePhase(spec, client, runConfig, servers));
      }
    } finally {
      await client.connection.close();
    }
    const downFrom = performance.now();
    await sluice(['cluster', 'down'], { SLUICE_HOME: home }, 180_000);
    up = false;
    const downMs = performance.now() - downFrom;
    const usedDist = await distUsed();
    return summarise(results, {
      quick,
      runs,
      upMs,
      downMs,
      upParts: report.parts,
      upTimings: report.timings,
      loadBefore,
      usedDist,
    });
  } finally {
    if (up) await sluice(['cluster', 'down'], { SLUICE_HOME: home }, 180_000).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

interface Context {
  quick: boolean;
  runs: number;
  upMs: number;
  downMs: number;
  upParts: { part: string; seconds?: number; version: string }[];
  /** What `up` itself reports (schema, its own total), seconds. */
  upTimings: Record<string, number>;
  loadBefore: number[];
  usedDist: boolean;
}

/** The product defaults every bench worker runs with (slots, queue names). */
const defaults = loadConfig({}, projectRoot);
const trainQueue = defaults.taskQueues.train;

/** Mean wait of a run's training activities for a training slot, ms. */
const trainWait = (r: PhaseResult) => (r.times.byQueue[trainQueue]?.queueMs ?? 0) / r.outcomes.length;

/** Mean wait of a run's other activities for a slot on their queue, ms. */
const otherWait = (r: PhaseResult) => r.times.activityQueueMs / r.outcomes.length - trainWait(r);

const serverCpu = (r: PhaseResult) => r.serverCpuMs.temporal + r.serverCpuMs.postgres + r.serverCpuMs.minio;
const lost = (r: PhaseResult) => r.outcomes.filter((o) => o.end !== 'succeeded').length;

function row(r: PhaseResult) {
  const n = r.outcomes.length;
  const waitPct = r.workerUsage.reduce((sum, u) => sum + u.runqueuePercent, 0);
  return {
    configuration: `${r.spec.workers} worker${r.spec.workers > 1 ? 's' : ''}, ${r.spec.store} store`,
    runs: n,
    wall_ms: r.burstMs,
    runs_per_min: (n / r.burstMs) * 60_000,
    ...spread(r.outcomes),
    alone_ms: r.aloneMs,
    worker_cpu_ms_per_run: r.workerCpuMs / n,
    server_cpu_ms_per_run: serverCpu(r) / n,
    worker_cpu_pct: r.workerUsage.reduce((sum, u) => sum + u.cpuPercent, 0),
    worker_runqueue_pct: waitPct,
    train_queue_ms_per_run: trainWait(r),
    other_queue_ms_per_run: otherWait(r),
    workflow_queue_ms_per_run: r.times.workflowQueueMs / n,
    worker_rss_peak_mib: Math.max(...r.workerUsage.map((u) => u.rssPeakMiB)),
    lost: lost(r),
  };
}

function summarise(results: PhaseResult[], ctx: Context): BenchResult {
  const [local, minio1, minio3] = results;
  if (!local || !minio1 || !minio3) throw new Error('scale bench: a phase is missing');
  const cores = cpus().length;
  const n = minio1.outcomes.length;
  const trainMs = minio1.aloneTimes.byQueue[trainQueue]?.runMs ?? 0;
  const costs: PerRunCosts = {
    workerCpuMs: minio1.workerCpuMs / n,
    serverCpuMs: serverCpu(minio1) / n,
    slotMs: minio1.aloneTimes.activityRunMs - trainMs,
    trainSlotMs: trainMs,
    aloneMs: minio1.aloneMs,
  };
  const { activities: slots, training: trainSlots } = defaults.concurrency;
  const shape = { coresPerWorker: cores, slotsPerWorker: slots, trainSlotsPerWorker: trainSlots };
  const projection = projectWorkers(costs, shape, projected);
  const hereBound = oneMachineBound(costs, cores);
  const measuredPerS = (r: PhaseResult) => r.outcomes.length / (r.burstMs / 1000);
  const ratios = {
    minioVsLocal: minio1.burstMs / local.burstMs,
    minioVsLocalWorkerCpu: minio1.workerCpuMs / local.workerCpuMs,
    minioVsLocalTotalCpu: (minio1.workerCpuMs + serverCpu(minio1)) / (local.workerCpuMs + serverCpu(local)),
    threeWorkersVsOne: minio3.burstMs / minio1.burstMs,
    threeWorkersVsOneWorkerCpu: minio3.workerCpuMs / minio1.workerCpuMs,
  };
  const loadAfter = loadavg();
  const byWorker = Object.values(minio3.times.byWorker);
  const fmt = (x: number, digits = 2) => x.toFixed(digits);
  const model = projection.map(
    (p) =>
      `  ${String(p.workers).padStart(2)} workers × ${cores} cores: ${fmt(p.runsPerS * 60, 1)} runs/min (bound: ${p.bound}), ` +
      `the services need ${fmt(p.serverCores, 1)} cores, no run faster than ${fmt(p.latencyFloorMs / 1000, 1)} s`,
  );
  return {
    name: ctx.quick ? 'scale-quick' : 'scale',
    description:
      `${ctx.runs} lifecycle runs at once (${stepsBeforeGate.join(' → ')}, flights 1-in-100 partitions, logistic 3 epochs; ` +
      `ends before the approval gate) on \`sluice cluster up\` (PostgreSQL, Temporal server 1.29.1, MinIO), all on this machine`,
    rows: results.map(row),
    ratios,
    notes: [
      'wall: first start → last end of the runs started at once; p50/p95/max: each run, start → result (client clock).',
      `alone: one run on the warmed-up workers with nothing else running${ctx.quick ? ' (quick: the warm-up run itself, so it includes first-run costs)' : ''}.`,
      'cpu per run: utime+stime from /proc over the burst ÷ runs; workers summed; server = Temporal + PostgreSQL (postmaster and backends) + MinIO.',
      "runqueue: time the workers' threads were runnable but waiting for a core (schedstat), % of wall, summed over workers: CPU starvation.",
      `train/other/workflow queue: summed scheduled → started times from each run's history (server clock): waiting in the task queue for a worker slot (${trainQueue}: ${trainSlots} training slot per worker; ${defaults.taskQueues.orchestration}: ${slots} activity slots).`,
      `minioVsLocal ${fmt(ratios.minioVsLocal)}: wall with the S3 store ÷ the local store (one worker each); its worker CPU ratio ${fmt(ratios.minioVsLocalWorkerCpu)}, worker + services CPU ${fmt(ratios.minioVsLocalTotalCpu)} ` +
        '(on a shared machine the CPU ratios are the steadier figure: wall moves with the other jobs).',
      `threeWorkersVsOne ${fmt(ratios.threeWorkersVsOne)}: wall with three worker processes ÷ one (MinIO store, same ${cores} cores); ` +
        `the three took ${byWorker.join(' / ')} activities. Three processes add no CPU on ${cores} cores (their CPU per run is ` +
        `${fmt(ratios.threeWorkersVsOneWorkerCpu)}× one's: three heaps, three caches) but three times the slots: a run's wait for a training ` +
        `slot went from ${fmt(trainWait(minio1) / 1000, 1)} s to ${fmt(trainWait(minio3) / 1000, 1)} s, for another from ` +
        `${fmt(otherWait(minio1) / 1000, 1)} s to ${fmt(otherWait(minio3) / 1000, 1)} s.`,
      `Per-run costs (one worker, MinIO): worker ${fmt(costs.workerCpuMs / 1000)} s CPU, services ${fmt(costs.serverCpuMs / 1000)} s CPU, ` +
        `activity slot time ${fmt(costs.slotMs / 1000)} s + training slot time ${fmt(costs.trainSlotMs / 1000)} s, alone ${fmt(costs.aloneMs / 1000)} s (measured alone, on this loaded machine).`,
      `Here (workers and services on the same ${cores} cores): at most ${fmt(hereBound * 60, 1)} runs/min whatever the worker count; measured ` +
        `${fmt(measuredPerS(minio1) * 60, 1)} (1 worker) and ${fmt(measuredPerS(minio3) * 60, 1)} (3 workers).`,
      `N workers on their own ${cores}-core machines, services elsewhere (runs independent: linear until the services saturate; ` +
        `${slots} activity and ${trainSlots} training slot(s) per worker):`,
      ...model,
      `sluice cluster up (built binaries, fresh data): ${fmt(ctx.upMs / 1000, 1)} s (${ctx.upParts
        .map((p) => `${p.part} ${p.seconds === undefined ? '?' : fmt(p.seconds, 1)} s`)
        .join(
          ', ',
        )}; schema ${ctx.upTimings.schema ?? '?'} s, up's own total ${ctx.upTimings.up ?? '?'} s, the rest the CLI's start); down ${fmt(ctx.downMs / 1000, 1)} s.`,
      `sluice worker start (spawn → polling): ${results
        .flatMap((r) => r.workerStartMs)
        .map((ms) => fmt(ms / 1000, 1))
        .join(
          ', ',
        )} s; the workers ran ${ctx.usedDist ? 'dist/ (built and current)' : 'the TypeScript sources through tsx (no current dist/: npm run build)'}.`,
      `load average (1/5/15 min) before ${ctx.loadBefore.map((l) => l.toFixed(1)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(1)).join(' ')} ` +
        '(the machine is shared: other jobs ran beside the bench).',
    ],
    extra: {
      quick: ctx.quick,
      pipeline: scalePipelineId,
      steps: stepsBeforeGate,
      runDeadlineMs: RUN_DEADLINE_MS,
      costs,
      projection,
      oneMachineRunsPerMin: hereBound * 60,
      cluster: { upMs: ctx.upMs, downMs: ctx.downMs, parts: ctx.upParts, timings: ctx.upTimings },
      loadBefore: ctx.loadBefore,
      loadAfter,
      phases: results.map((r) => ({
        ...r.spec,
        warmupMs: r.warmupMs,
        aloneMs: r.aloneMs,
        aloneTimes: r.aloneTimes,
        burstMs: r.burstMs,
        ends: ends(r.outcomes),
        errors: r.outcomes.flatMap((o) => (o.error ? [o.error] : [])).slice(0, 5),
        times: r.times,
        workerUsage: r.workerUsage,
        workerCpuMs: r.workerCpuMs,
        serverCpuMs: r.serverCpuMs,
        workerStops: r.workerStops,
        workerStartMs: r.workerStartMs,
      })),
    },
  };
}
