import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { startBenchTemporal, type BenchResult } from './harness.js';
import { gatedPipeline, roles, smallPipeline } from './load/pipelines.js';
import {
  approve,
  endedApproved,
  ends,
  gateVersion,
  outcome,
  sleep,
  spread,
  start,
  type Channel,
  type RunHandle,
  type RunOutcome,
} from './load/runs.js';
import { sampleProcess, type UsageSummary } from './load/sampler.js';
import { startWorkerProcess } from './load/worker-process.js';

interface Sizes {
  /** Small runs started at once, and run one at a time for the baseline. */
  concurrent: number;
  baselineRuns: number;
  /** Runs left waiting at their approval gate. */
  waiting: number;
  /** Approvals sent at once (per channel), and one at a time for the baseline. */
  approvals: number;
  baselineApprovals: number;
  /** Length of the idle and the waiting measurement windows. */
  windowMs: number;
}

const full: Sizes = {
  concurrent: 200,
  baselineRuns: 10,
  waiting: 1000,
  approvals: 50,
  baselineApprovals: 5,
  windowMs: 30_000,
};
const quick: Sizes = {
  concurrent: 20,
  baselineRuns: 3,
  waiting: 100,
  approvals: 10,
  baselineApprovals: 2,
  windowMs: 5_000,
};

/** Runs that have not ended this long after their start (or their approval) count as lost. */
const RUN_DEADLINE_MS = 300_000;

/**
 * One `sluice worker` process under load, measured from outside (/proc): N small runs at once beside
 * the same runs one at a time; M runs waiting at approval gates beside the idle worker; K approvals
 * sent at once (signal, then update) beside one at a time, counting every run that does not end
 * approved as lost. `--quick` runs small sizes for a smoke test.
 */
export async function run(args: string[] = []): Promise<BenchResult> {
  const isQuick = args.includes('--quick');
  const sizes = isQuick ? quick : full;
  if (sizes.waiting < 2 * (sizes.approvals + sizes.baselineApprovals)) {
    throw new Error('load bench: the waiting runs must cover every approval');
  }
  const temporal = await startBenchTemporal('load');
  const { home, config, client } = temporal;
  await writeFile(join(home, 'roles.json'), JSON.stringify({ roles }));
  // Product defaults (info logs to stdout), as an operator runs it; only the log goes to a file.
  const worker = await startWorkerProcess(config, join(home, 'worker.log'), { SLUICE_LOG_LEVEL: 'info' });
  const workerUsage = sampleProcess(worker.pid);
  const serverUsage = sampleProcess(temporal.server.pid);
  const usage = (from: number, to: number) => ({
    worker: workerUsage.summary(from, to),
    server: serverUsage.summary(from, to),
  });
  const deadline = () => Date.now() + RUN_DEADLINE_MS;
  let workerEnd = 'still running';
  try {
    // Idle: the worker with no run ever started (after its start-up settles).
    await sleep(3000);
    const idleFrom = performance.now();
    await sleep(sizes.windowMs);
    const idle = usage(idleFrom, performance.now());

    // Small runs: one at a time (baseline, after one warm-up run), then all at once.
    const smallRun = async () => {
      const t0 = performance.now();
      return outcome(await start(client, config, smallPipeline), t0, deadline());
    };
    await smallRun();
    const oneAtATime: RunOutcome[] = [];
    const seqFrom = performance.now();
    for (let i = 0; i < sizes.baselineRuns; i++) oneAtATime.push(await smallRun());
    const seqMs = performance.now() - seqFrom;
    const burstFrom = performance.now();
    const burst = await Promise.all(Array.from({ length: sizes.concurrent }, smallRun));
    const burstMs = performance.now() - burstFrom;
    const burstUsage = usage(burstFrom, performance.now());

    // Idle again, warm: the baseline the waiting runs are compared with.
    await sleep(2000);
    const warmFrom = performance.now();
    await sleep(sizes.windowMs);
    const warm = usage(warmFrom, performance.now());

    // Runs waiting at their gates: time to start them all, time until visibility shows all awaiting.
    const gateFrom = performance.now();
    const waiting: RunHandle[] = await Promise.all(
      Array.from({ length: sizes.waiting }, () => start(client, config, gatedPipeline)),
    );
    const startedMs = performance.now() - gateFrom;
    const awaiting = `SluicePipeline = "${gatedPipeline.id}" AND SluiceApproval = "awaiting"`;
    let atGate = 0;
    const gateDeadline = deadline();
    while (Date.now() < gateDeadline) {
      atGate = (await client.workflow.count(awaiting)).count;
      if (atGate >= sizes.waiting) break;
      await sleep(250);
    }
    const atGateMs = performance.now() - gateFrom;
    const reachUsage = usage(gateFrom, performance.now());
    await sleep(2000);
    const waitFrom = performance.now();
    await sleep(sizes.windowMs);
    const waitUsage = usage(waitFrom, performance.now());

    // Approvals: one at a time, then all at once, through each channel, to runs still waiting.
    let next = 0;
    const take = (n: number) => waiting.slice(next, (next += n));
    const approvals = async (channel: Channel, handles: RunHandle[]) => {
      const versions = await Promise.all(handles.map(gateVersion));
      const t0 = performance.now();
      const sent = await Promise.allSettled(handles.map((h, i) => approve(h, versions[i] ?? '', channel)));
      const sentMs = performance.now() - t0;
      const outcomes = await Promise.all(handles.map((h) => outcome(h, t0, deadline())));
      const sendErrors = sent.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
      return { sentMs, outcomes, sendErrors };
    };
    const approvalRows = [];
    const approvalDetail: Record<string, unknown> = {};
    for (const channel of ['signal', 'update'] as const) {
      const single: RunOutcome[] = [];
      const singleErrors: string[] = [];
      for (let i = 0; i < sizes.baselineApprovals; i++) {
        const one = await approvals(channel, take(1));
        single.push(...one.outcomes);
        singleErrors.push(...one.sendErrors);
      }
      const many = await approvals(channel, take(sizes.approvals));
      const lost = (outcomes: RunOutcome[]) => outcomes.filter((o) => !endedApproved(o, channel)).length;
      approvalRows.push(
        {
          measure: `approval by ${channel}, one at a time (baseline): send → run ended`,
          runs: single.length,
          ...spread(single),
          lost: lost(single),
        },
        {
          measure: `${sizes.approvals} approvals by ${channel} at once: send → run ended`,
          runs: many.outcomes.length,
          wall_ms: many.sentMs,
          ...spread(many.outcomes),
          lost: lost(many.outcomes),
        },
      );
      approvalDetail[channel] = {
        baseline: { ends: ends(single), sendErrors: singleErrors },
        burst: { ends: ends(many.outcomes), sendErrors: many.sendErrors, allSentMs: many.sentMs },
        lostRuns: many.outcomes
          .map((o, i) => ({ o, i }))
          .filter(({ o }) => !endedApproved(o, channel))
          .map(({ o }) => ({ end: o.end, error: o.error, gate: o.status?.approvals[0] ?? null })),
      };
    }

    const heapMiB = getHeapStatistics().heap_size_limit / 2 ** 20;
    // The worker's cache of open runs: SLUICE_MAX_CACHED_RUNS (the worker child inherits this env).
    const cachedRuns = config.concurrency.cachedRuns;
    const usageCells = (u: { worker: UsageSummary; server: UsageSummary }) => ({
      worker_cpu_pct: u.worker.cpuPercent,
      worker_wait_pct: u.worker.runqueuePercent,
      worker_rss_mib: u.worker.rssMeanMiB,
      worker_rss_peak_mib: u.worker.rssPeakMiB,
      server_cpu_pct: u.server.cpuPercent,
    });
    const failed = (outcomes: RunOutcome[]) => outcomes.filter((o) => o.end !== 'succeeded').length;
    const rows = [
      {
        measure: `small runs (4 no-op steps), one at a time (baseline)`,
        runs: oneAtATime.length,
        wall_ms: seqMs,
        runs_per_s: oneAtATime.length / (seqMs / 1000),
        ...spread(oneAtATime),
        lost: failed(oneAtATime),
      },
      {
        measure: `${sizes.concurrent} small runs started at once`,
        runs: burst.length,
        wall_ms: burstMs,
        runs_per_s: burst.length / (burstMs / 1000),
        ...spread(burst),
        lost: failed(burst),
        ...usageCells(burstUsage),
      },
      { measure: 'worker idle, no run started yet (baseline)', ...usageCells(idle) },
      { measure: 'worker idle, after the small runs (baseline)', ...usageCells(warm) },
      {
        measure: `start ${sizes.waiting} gated runs (client, all at once)`,
        runs: waiting.length,
        wall_ms: startedMs,
        runs_per_s: waiting.length / (startedMs / 1000),
      },
      {
        measure: `… until all ${sizes.waiting} show awaiting (visibility)`,
        runs: atGate,
        wall_ms: atGateMs,
        lost: sizes.waiting - atGate,
        ...usageCells(reachUsage),
      },
      { measure: `worker, ${sizes.waiting} runs waiting at gates`, runs: atGate, ...usageCells(waitUsage) },
      ...approvalRows,
    ];
    workerEnd = await worker.stop();
    const workerLog = await worker.logSummary();
    return {
      name: isQuick ? 'load-quick' : 'load',
      description: `one \`sluice worker\` process: ${sizes.concurrent} small runs at once, ${sizes.waiting} runs waiting at approval gates, ${sizes.approvals} approvals at once per channel (dev server, in-memory SQLite)`,
      rows,
      notes: [
        'Run times are client-side: from before `startRun` (or before the approval is sent) to the run result.',
        'lost: runs that did not end as expected (small runs: not succeeded; approvals: not succeeded with the gate approved',
        `once through that channel) within ${RUN_DEADLINE_MS / 1000} s. CPU: % of one core (utime+stime deltas from /proc, every 500 ms);`,
        "wait: time the worker's threads were runnable but waiting for a core (schedstat), % of wall time: CPU starvation.",
        `RSS: mean and peak VmRSS over the window (${sizes.windowMs / 1000} s windows for idle and waiting).`,
        `Worker defaults: maxConcurrentWorkflowTaskExecutions 40 (SDK default), maxConcurrentActivityTaskExecutions ${config.concurrency.activities},`,
        `maxCachedWorkflows ${cachedRuns} (SLUICE_MAX_CACHED_RUNS): ${sizes.waiting} waiting runs ${sizes.waiting <= cachedRuns ? 'fit in the cache, so none is evicted for size' : 'exceed it, so the least recent are evicted and replayed on their next task'}.`,
        `Worker log: ${workerLog.levels['40'] ?? 0} warn and ${workerLog.levels['50'] ?? 0} error lines${workerLog.problems.length ? ` (${workerLog.problems.join('; ')})` : ''}; the worker ${workerEnd === 'exit 0' ? 'stopped cleanly on SIGTERM' : `ended with ${workerEnd}`}.`,
      ],
      extra: {
        sizes,
        quick: isQuick,
        workerStop: workerEnd,
        workerLog,
        workerDefaults: {
          maxConcurrentWorkflowTaskExecutions: 40,
          maxConcurrentActivityTaskExecutions: config.concurrency.activities,
          maxCachedWorkflows: cachedRuns,
          heapLimitMiB: heapMiB,
        },
        smallRuns: { baselineEnds: ends(oneAtATime), burstEnds: ends(burst) },
        approvals: approvalDetail,
        usage: { idle, warm, burst: burstUsage, reachGate: reachUsage, waiting: waitUsage },
        samples: { worker: workerUsage.samples, server: serverUsage.samples },
        cli: temporal.cli.source,
      },
    };
  } finally {
    if (workerEnd === 'still running') await worker.stop();
    await workerUsage.stop();
    await serverUsage.stop();
    await temporal.close();
  }
}
