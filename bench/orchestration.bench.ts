import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { createActivities } from '../activities/index.js';
import { followRun, startRun } from '../client/runs.js';
import { definePipeline } from '../pipelines/define.js';
import { flightDelay } from '../pipelines/flight-delay.pipeline.js';
import type { DagStatus } from '../workflows/index.js';
import type { StepInput } from '../pipelines/step.js';
import type { SluiceConfig } from '../lib/config.js';
import { createLogger } from '../worker/logging.js';
import { startWorker } from '../worker/run.js';
import { percentile, startBenchTemporal, type BenchResult } from './harness.js';

const STEPS = 20;
const CHAIN_RUNS = 10;
const THROUGHPUT_RUNS = 48;

/**
 * Per-step overhead of the DAG workflow on a real dev server: an N-step chain of no-op steps, beside
 * the same activity function called directly; and 2-step workflows completed per second at
 * concurrency 1 and 16.
 */
export async function run(): Promise<BenchResult> {
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
    for (let i = 0; i < STEPS * CHAIN_RUNS; i++) {
      const start = process.hrtime.bigint();
      await env.run(noop, input);
      direct.push(Number(process.hrtime.bigint() - start) / 1e6);
    }

    const chain = definePipeline({
      id: 'bench-chain',
      steps: Array.from({ length: STEPS }, (_, i) => ({
        id: `s${i}`,
        activity: 'noop',
        needs: i === 0 ? [] : [`s${i - 1}`],
      })),
    });
    const perStep: number[] = [];
    const perRunStep: number[] = [];
    await runOnce(client, config, chain); // warm-up: workflow bundle, caches, connections
    for (let r = 0; r < CHAIN_RUNS; r++) {
      const started = performance.now();
      const status = await runOnce(client, config, chain);
      perRunStep.push((performance.now() - started) / STEPS);
      for (const step of status.steps) perStep.push(step.durationMs ?? Number.NaN);
    }

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
          while (next < THROUGHPUT_RUNS) {
            next++;
            const t = performance.now();
            await runOnce(client, config, pair);
            latencies.push(performance.now() - t);
          }
        }),
      );
      return {
        perSecond: THROUGHPUT_RUNS / ((performance.now() - started) / 1000),
        p95: percentile(latencies, 95),
      };
    };
    const c1 = await throughput(1);
    const c16 = await throughput(16);

    // The full lifecycle of the demo pipeline, approved by a bot as soon as the gate opens; then the
    // same run again, where cacheable steps come from the step cache.
    await writeFile(join(home, 'roles.json'), JSON.stringify({ roles: { risk: ['bench-approver'] } }));
    const lifecycle = async (): Promise<{ wallMs: number; status: DagStatus }> => {
      const started = performance.now();
      const handle = await startRun(client, config, flightDelay, { runParams: {}, startedBy: 'bench' });
      const status = await followRun(
        handle,
        () => undefined,
        100,
        (gate) => {
          void handle.executeUpdate('submitApproval', {
            args: [{ approver: 'bench-approver', decision: 'approve', modelVersion: gate.modelVersion }],
          });
        },
      );
      return { wallMs: performance.now() - started, status };
    };
    const cold = await lifecycle();
    const warm = await lifecycle();
    const stepMs = (run: { status: DagStatus }, id: string) =>
      run.status.steps.find((s) => s.id === id)?.durationMs ?? Number.NaN;
    const lifecycleRows = flightDelay.steps.map((step) => ({
      measure: `lifecycle step ${step.id}${step.cache ? ' (cacheable)' : ''}`,
      first_run_ms: stepMs(cold, step.id),
      second_run_ms: stepMs(warm, step.id),
    }));

    return {
      name: 'orchestration',
      description: `${STEPS}-step no-op chain ×${CHAIN_RUNS} and ${THROUGHPUT_RUNS} two-step runs, on the Temporal dev server (in-memory SQLite)`,
      rows: [
        {
          measure: 'per step, direct call (baseline)',
          p50_ms: percentile(direct, 50),
          p95_ms: percentile(direct, 95),
        },
        {
          measure: 'per step, in the DAG workflow (schedule→complete)',
          p50_ms: percentile(perStep, 50),
          p95_ms: percentile(perStep, 95),
        },
        {
          measure: 'per step, whole run wall time / steps',
          p50_ms: percentile(perRunStep, 50),
          p95_ms: percentile(perRunStep, 95),
        },
        { measure: 'two-step runs, concurrency 1', runs_per_s: c1.perSecond, p95_ms: c1.p95 },
        { measure: 'two-step runs, concurrency 16', runs_per_s: c16.perSecond, p95_ms: c16.p95 },
        ...lifecycleRows,
        {
          measure: 'lifecycle run, wall time (flight-delay, bot approval)',
          first_run_ms: cold.wallMs,
          second_run_ms: warm.wallMs,
        },
      ],
      notes: [
        'The DAG figure is the time between the workflow scheduling a step and seeing its result (workflow clock),',
        'i.e. activity task dispatch + execution + completion round trip through the server.',
        'Lifecycle: the shipped flight-delay pipeline (1-in-20 sample of flights-3m, 4-trial search), approved by a bot',
        'the moment its gate opens; the second run of the same spec serves cacheable steps from the step cache.',
      ],
      extra: { steps: STEPS, chainRuns: CHAIN_RUNS, throughputRuns: THROUGHPUT_RUNS, cli: cli.source },
    };
  } finally {
    await worker.shutdown();
    await temporal.close();
  }
}

async function runOnce(client: Client, config: SluiceConfig, spec: ReturnType<typeof definePipeline>) {
  return followRun(await startRun(client, config, spec, { runParams: {} }), () => undefined, 50);
}
