import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { loadConfig, type SluiceConfig } from '../../lib/config.js';
import { projectRoot } from '../../test/support/paths.js';
import { outcome, start, type RunHandle, type RunOutcome } from '../load/runs.js';
import { sampleProcess, type ProcessSampler, type UsageSummary } from '../load/sampler.js';
import { startWorkerProcess, type WorkerProcess } from '../load/worker-process.js';
import { runTimes, sumTimes, type RunTimes } from './history.js';
import { scaleLifecycle } from './lifecycle.js';
import { treeCpuMs } from './tree-cpu.js';

/** Runs that have not ended this long after their start count as lost. */
export const RUN_DEADLINE_MS = 900_000;

/** The shared services' processes, whose CPU the bench charges to the runs. */
export interface ServerPids {
  temporal: number;
  postgres: number;
  minio: number;
}

/** One configuration measured: its workers, the store they use, and the runs it was given. */
export interface PhaseSpec {
  name: string;
  workers: number;
  store: 'local' | 'minio';
  /** The cluster's variables (TEMPORAL_*, and the S3 ones when the store is MinIO). */
  clusterEnv: Record<string, string>;
  /** S3 prefix of this phase: each phase stores its artifacts afresh, none deduplicated by another's. */
  prefix: string;
  runs: number;
  /** Also time one run alone after the warm-up run (full mode). */
  aloneRun: boolean;
}

export interface PhaseResult {
  spec: Omit<PhaseSpec, 'clusterEnv'>;
  /** Wall time of the warm-up run (the first on fresh workers) and of one run alone after it. */
  warmupMs: number;
  aloneMs: number;
  aloneTimes: RunTimes;
  /** All runs started at once: wall time from the first start to the last end. */
  burstMs: number;
  outcomes: RunOutcome[];
  times: RunTimes;
  /** Each worker process over the burst, and the sum of their CPU (ms). */
  workerUsage: UsageSummary[];
  workerCpuMs: number;
  /** The services' CPU over the burst (ms). */
  serverCpuMs: { temporal: number; postgres: number; minio: number };
  workerStops: string[];
  /** Each worker's start: spawn → `worker started` (bundle loaded, both queues polled), ms. */
  workerStartMs: number[];
}

function bucketOf(env: Record<string, string>): string {
  const bucket = /^s3:\/\/([^/]+)/.exec(env.SLUICE_ARTIFACTS ?? '')?.[1];
  if (!bucket)
    throw new Error(
      `scale bench: the cluster's SLUICE_ARTIFACTS is not s3://bucket/…: ${env.SLUICE_ARTIFACTS}`,
    );
  return bucket;
}

const cpuMsOf = (usage: UsageSummary, wallMs: number) => (usage.cpuPercent / 100) * wallMs;

/**
 * Start `spec.workers` `sluice worker` processes, each with its own fresh SLUICE_HOME, run one warm-up
 * run (and one alone), then `spec.runs` runs at once, measuring the workers from /proc and the runs
 * from their histories; stop the workers and remove their homes.
 */
export async function measurePhase(
  spec: PhaseSpec,
  client: Client,
  runConfig: SluiceConfig,
  servers: ServerPids,
): Promise<PhaseResult> {
  const homes: string[] = [];
  const workers: WorkerProcess[] = [];
  const samplers: ProcessSampler[] = [];
  const workerStartMs: number[] = [];
  const serverSamplers = [sampleProcess(servers.temporal), sampleProcess(servers.minio)];
  try {
    for (let i = 0; i < spec.workers; i++) {
      const home = await mkdtemp(join(tmpdir(), `sluice-scale-${spec.name}-${i}-`));
      homes.push(home);
      const storeEnv =
        spec.store === 'minio'
          ? { SLUICE_ARTIFACTS: `s3://${bucketOf(spec.clusterEnv)}/${spec.prefix}` }
          : { SLUICE_ARTIFACTS: join(home, 'artifacts') };
      const env: Record<string, string> = {
        ...spec.clusterEnv,
        ...storeEnv,
        SLUICE_HOME: home,
        SLUICE_KEYS_DIR: join(home, 'keys'),
        SLUICE_DATA_ROOTS: projectRoot,
        SLUICE_LOG_LEVEL: 'info',
      };
      const config = loadConfig(env, projectRoot);
      const startFrom = performance.now();
      workers.push(await startWorkerProcess(config, join(home, 'worker.log'), env));
      workerStartMs.push(performance.now() - startFrom);
    }
    for (const worker of workers) samplers.push(sampleProcess(worker.pid));

    const one = async (partition: number) => {
      const t0 = performance.now();
      const handle = await start(client, runConfig, scaleLifecycle(partition));
      return { handle, outcome: await outcome(handle, t0, Date.now() + RUN_DEADLINE_MS) };
    };
    const warmup = await one(99);
    const alone = spec.aloneRun ? await one(98) : warmup;

    const partitions = Array.from({ length: spec.runs }, (_, i) => i);
    const pgFrom = await treeCpuMs(servers.postgres);
    const from = performance.now();
    const burst = await Promise.all(partitions.map(one));
    const to = performance.now();
    const pgTo = await treeCpuMs(servers.postgres);
    await new Promise((resolve) => setTimeout(resolve, 600)); // one more sample past the window's end
    const burstMs = to - from;
    const workerUsage = samplers.map((s) => s.summary(from, to + 600));
    const [temporalUsage, minioUsage] = serverSamplers.map((s) => s.summary(from, to + 600));
    const handles: RunHandle[] = burst.map((b) => b.handle);
    const times = sumTimes(await Promise.all(handles.map(runTimes)));
    const workerStops = await Promise.all(workers.map((w) => w.stop()));
    return {
      spec: {
        name: spec.name,
        workers: spec.workers,
        store: spec.store,
        prefix: spec.prefix,
        runs: spec.runs,
        aloneRun: spec.aloneRun,
      },
      warmupMs: warmup.outcome.ms,
      aloneMs: alone.outcome.ms,
      aloneTimes: await runTimes(alone.handle),
      burstMs,
      outcomes: burst.map((b) => b.outcome),
      times,
      workerUsage,
      workerCpuMs: workerUsage.reduce((sum, u) => sum + cpuMsOf(u, burstMs), 0),
      serverCpuMs: {
        temporal: temporalUsage ? cpuMsOf(temporalUsage, burstMs) : Number.NaN,
        postgres: pgTo - pgFrom,
        minio: minioUsage ? cpuMsOf(minioUsage, burstMs) : Number.NaN,
      },
      workerStops,
      workerStartMs,
    };
  } finally {
    for (const worker of workers) await worker.stop();
    for (const sampler of [...samplers, ...serverSamplers]) await sampler.stop();
    for (const home of homes) await rm(home, { recursive: true, force: true });
  }
}

export type { RunTimes };
