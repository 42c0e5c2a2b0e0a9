import { readFileSync } from 'node:fs';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { expect } from 'vitest';
import { createArtifactStore } from '../../../lib/artifacts/index.js';
import { sha256File } from '../../../lib/hash.js';
import type { ArtifactRef } from '../../../pipelines/artifact.js';
import { buildPipeline } from '../../../pipelines/define.js';
import type { LifecycleConfig } from '../../../pipelines/lifecycle.js';
import type { RegistryDescription, RegistryEvent } from '../../../pipelines/registry.js';
import type { PipelineSpec, StepSpec } from '../../../pipelines/spec.js';
import { followRun } from '../../../client/runs.js';
import type { DagStatus, dagWorkflow } from '../../../workflows/index.js';
import { flightsLifecycle } from '../../integration/fixtures/lifecycle.js';
import { sluice, startSluice, type LiveSluice } from '../../support/cli.js';

/**
 * The fault suite's tools: a real `sluice worker` process to SIGKILL, the flights lifecycle with step
 * timeouts short enough that a killed attempt is retried in seconds, probes that say when a step is
 * really running, and the invariants every run must keep whatever was killed.
 */

/** Every process a test file started, so `afterAll` can SIGKILL what a failed test left running. */
export const started: LiveSluice[] = [];

/** `sluice worker` as its own process (both task queues, workflows bundled at start), once it polls. */
export async function startWorkerProcess(env: Record<string, string>): Promise<LiveSluice> {
  const worker = startSluice(['worker'], { ...env, SLUICE_LOG_LEVEL: 'info' });
  started.push(worker);
  await worker.waitFor(/"msg":"worker started"/, 120_000);
  return worker;
}

/** A crash: SIGKILL, no drain, no last heartbeat. Resolves once the process is gone. */
export async function crash(process: LiveSluice): Promise<void> {
  await process.stop('SIGKILL');
}

export async function stopAll(): Promise<void> {
  for (const process of started.splice(0)) await process.stop('SIGKILL');
}

/**
 * The tests' flights lifecycle (a 1-in-100 sample, ~30k rows) with the shipped timeouts on ingest and
 * deploy, whose recovery the suite measures (20 s of heartbeat silence), 5 s on training (below), and a
 * 2 s heartbeat timeout on registration, which the suite kills in a loop. A
 * SIGKILLed attempt is retried within the heartbeat timeout because every Sluice activity heartbeats
 * while it runs (activities/boundary.ts) and training runs on its own thread, not after its timeout.
 */
export function faultLifecycle(id: string, overrides: Partial<LifecycleConfig> = {}): PipelineSpec {
  const base = flightsLifecycle(id, overrides);
  const retry = { maxAttempts: 4, initialInterval: '200ms', backoff: 2, maxInterval: '2s' };
  const tuned = (step: StepSpec): StepSpec => {
    if (step.id === 'register') return { ...step, heartbeat: '2s', retry };
    // Training: a 5 s heartbeat timeout. The SDK sends a checkpoint's heartbeat at most every 0.8 × the
    // timeout, and on a quiet machine this MLP trains all its epochs within the 16 s the shipped 20 s
    // allows, so the server would never hear of a checkpoint before training ends.
    if (step.id === 'train') return { ...step, heartbeat: '5s', retry };
    if (step.id === 'ingest') return { ...step, retry };
    return step;
  };
  return buildPipeline({ ...base, steps: base.steps.map(tuned) });
}

const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

/** A pending activity of the run as the server sees it: type, attempt, last heartbeat. */
export interface PendingActivity {
  type: string;
  attempt: number;
  heartbeat: unknown;
}

/**
 * Poll the server until an activity of `type` has been picked up by a worker (state STARTED) and
 * `accept` likes it; poll fast, since ingestion lasts about a second.
 */
export async function waitForActivity(
  handle: WorkflowHandle,
  type: string,
  accept: (activity: PendingActivity) => boolean = () => true,
  timeoutMs = 90_000,
  pollMs = 25,
): Promise<PendingActivity> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { raw, status } = await handle.describe();
    for (const pending of raw.pendingActivities ?? []) {
      if (pending.activityType?.name !== type || pending.state !== STARTED) continue;
      const payload = pending.heartbeatDetails?.payloads?.[0];
      const activity = {
        type,
        attempt: pending.attempt ?? 1,
        heartbeat: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
      };
      if (accept(activity)) return activity;
    }
    if (status.name !== 'RUNNING') {
      throw new Error(`run ${handle.workflowId} ended before ${type} was seen running`);
    }
    await sleep(pollMs);
  }
  throw new Error(`${type} was not seen running within ${timeoutMs} ms`);
}

/**
 * Milliseconds from `killedAt` (this machine's clock, as is the server's here) until a later attempt of
 * the killed activity started on a worker, by the server's record: the recovery figure the suite
 * reports (printed, and appended as a JSON line to `$SLUICE_RECOVERY_LOG` when set; never asserted).
 */
export async function restartedAfter(
  handle: WorkflowHandle,
  seen: PendingActivity,
  killedAt: number,
  timeoutMs = 180_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { raw, status } = await handle.describe();
    const again = (raw.pendingActivities ?? []).find(
      (p) => p.activityType?.name === seen.type && p.state === STARTED && (p.attempt ?? 1) > seen.attempt,
    );
    const startedAt = again?.lastStartedTime ? timestampMs(again.lastStartedTime) : undefined;
    if (startedAt !== undefined) return startedAt - killedAt;
    const finished = await laterAttemptStarted(handle, seen);
    if (finished !== undefined) return finished - killedAt;
    if (status.name !== 'RUNNING')
      throw new Error(`run ${handle.workflowId} ended before ${seen.type} ran again`);
    await sleep(25);
  }
  throw new Error(`${seen.type} did not run again within ${timeoutMs} ms of the kill`);
}

/** When the attempt of `seen.type` that the history records as started (a later one) began, if any. */
async function laterAttemptStarted(
  handle: WorkflowHandle,
  seen: PendingActivity,
): Promise<number | undefined> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === seen.type)
      .map((e) => String(e.eventId)),
  );
  const started = events.find(
    (e) =>
      scheduled.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) &&
      (e.activityTaskStartedEventAttributes?.attempt ?? 1) > seen.attempt,
  );
  return started?.eventTime ? timestampMs(started.eventTime) : undefined;
}

function timestampMs(time: { seconds?: unknown; nanos?: number | null }): number {
  return Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6);
}

/**
 * Print a recovery figure, and keep it in `$SLUICE_RECOVERY_LOG` (JSON lines) when that is set:
 * `ms` from the kill to the step running again, and `workerUpMs` from the kill to the new worker
 * polling (the part a prebuilt workflow bundle would shorten; the rest is the heartbeat timeout).
 */
export async function recordRecovery(step: string, ms: number, workerUpMs: number): Promise<void> {
  const line = {
    step,
    killToRunningAgainMs: Math.round(ms),
    killToWorkerPollingMs: Math.round(workerUpMs),
    at: new Date().toISOString(),
  };
  console.log(
    `recovery: ${step} ran again ${(ms / 1000).toFixed(1)} s after its worker was SIGKILLed ` +
      `(the new worker polled after ${(workerUpMs / 1000).toFixed(1)} s)`,
  );
  const log = process.env['SLUICE_RECOVERY_LOG'];
  if (log) await appendFile(log, `${JSON.stringify(line)}\n`);
}

/** The run's approval gate once it waits (queried: needs a worker). */
export async function awaitingGate(
  handle: WorkflowHandle,
  timeoutMs = 180_000,
): Promise<{ modelVersion: string }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await handle.query<DagStatus>('status').catch(() => undefined);
    const gate = status?.approvals.find((g) => g.state === 'awaiting');
    if (gate) return gate;
    if (status && status.state !== 'running') {
      throw new Error(`run ${handle.workflowId} ended ${status.state} before its approval gate`);
    }
    await sleep(200);
  }
  throw new Error(`run ${handle.workflowId} never reached its approval gate`);
}

/**
 * When the server recorded the completion of each `activityType` attempt that counted, from the
 * run's history (the server's clock, not the workflow's: a workflow task replayed on a restarted
 * worker keeps the time it first had).
 */
export async function completionTimes(handle: WorkflowHandle, activityType: string): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => String(e.eventId)),
  );
  return events
    .filter((e) => scheduled.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)))
    .map((e) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ArtifactRefLike {
  uri: string;
  sha256: string;
  bytes: number;
  format?: string;
}

function isRef(value: unknown): value is ArtifactRefLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['uri'] === 'string' &&
    /^(sluice|file|s3):/.test(v['uri']) &&
    typeof v['sha256'] === 'string' &&
    /^[0-9a-f]{64}$/.test(v['sha256']) &&
    typeof v['bytes'] === 'number'
  );
}

function collectRefs(value: unknown, into: Map<string, ArtifactRefLike>): void {
  if (Array.isArray(value)) for (const item of value) collectRefs(item, into);
  else if (typeof value === 'object' && value !== null) {
    if (isRef(value)) into.set(value.sha256, value);
    for (const child of Object.values(value)) collectRefs(child, into);
  }
}

/**
 * Every ArtifactRef the run's steps output, and every ref inside those that are JSON (a model
 * manifest names its weights): re-hashed from disk, independently of the store's own checks.
 * Returns how many files were verified.
 */
export async function verifyOutputs(status: DagStatus, home: string): Promise<number> {
  const store = createArtifactStore(home);
  const refs = new Map<string, ArtifactRefLike>();
  for (const step of status.steps) collectRefs(step.output, refs);
  const checked = new Set<string>();
  const queue = [...refs.values()];
  while (queue.length > 0) {
    const ref = queue.shift() as ArtifactRefLike;
    if (checked.has(ref.sha256)) continue;
    checked.add(ref.sha256);
    const path = await store.open(ref as ArtifactRef);
    const actual = await sha256File(path);
    expect(actual, `${path} re-hashes to its ArtifactRef`).toEqual({ sha256: ref.sha256, bytes: ref.bytes });
    if (ref.format === 'json') {
      const inner = new Map<string, ArtifactRefLike>();
      collectRefs(JSON.parse(await readFile(path, 'utf8')) as unknown, inner);
      queue.push(...inner.values());
    }
  }
  return checked.size;
}

/**
 * The whole Sluice home after a crash, not only what the run points at: every file in the artifact
 * store hashes to the address in its name, every sidecar and step-cache entry parses, and nothing but
 * `*.partial` files (never addressable) sits in the store's staging directory. Returns what it saw.
 */
export async function verifyHome(home: string): Promise<{ artifacts: number; partials: string[] }> {
  const root = join(home, 'artifacts');
  let artifacts = 0;
  for (const shard of await readdir(root)) {
    if (shard === '.staging') continue;
    expect(shard, `store entry ${shard}`).toMatch(/^[0-9a-f]{2}$/);
    for (const name of await readdir(join(root, shard))) {
      const path = join(root, shard, name);
      const [sha256] = name.split('.');
      expect(name, path).toMatch(/^[0-9a-f]{64}\.[a-z]+(\.json)?$/);
      if (name.endsWith('.meta.json')) {
        expect((): unknown => JSON.parse(readFileText(path)), path).not.toThrow();
      } else {
        expect((await sha256File(path)).sha256, `${path} hashes to its name`).toBe(sha256);
        artifacts++;
      }
    }
  }
  const partials = await readdir(join(root, '.staging')).catch(() => [] as string[]);
  for (const name of partials) expect(name, 'staging holds only partial files').toMatch(/\.partial$/);
  for (const name of await readdir(join(home, 'cache')).catch(() => [] as string[])) {
    const path = join(home, 'cache', name);
    if (name.endsWith('.json')) expect((): unknown => JSON.parse(readFileText(path)), path).not.toThrow();
    else expect(name, `${path}: only hidden temp files besides cache entries`).toMatch(/^\./);
  }
  return { artifacts, partials };
}

const readFileText = (path: string): string => readFileSync(path, 'utf8');

/** The registry as `sluice models <model> --history --json` prints it (the real CLI, a new process). */
export async function registryOf(
  model: string,
  env: Record<string, string>,
): Promise<RegistryDescription & { events: RegistryEvent[] }> {
  const result = await sluice(['models', model, '--history', '--json'], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as RegistryDescription & { events: RegistryEvent[] };
}

/**
 * The registry invariants after a faulted run: exactly one version registered by the run, exactly one
 * `registered` event for it, and (when the run deployed) exactly one promotion of that version.
 */
export function expectOneVersionPerRun(
  registry: RegistryDescription & { events: RegistryEvent[] },
  workflowId: string,
  promoted: boolean,
): number {
  const versions = registry.versions.filter((v) => v.workflowId === workflowId);
  expect(versions, `versions registered by ${workflowId}`).toHaveLength(1);
  const version = (versions[0] as { version: number }).version;
  const registered = registry.events.filter((e) => e.type === 'registered' && e.workflowId === workflowId);
  expect(registered, `registered events of ${workflowId}`).toHaveLength(1);
  const promotions = registry.events.filter((e) => e.type === 'promoted' && e.version === version);
  expect(promotions, `promotions of v${version}`).toHaveLength(promoted ? 1 : 0);
  // And across the whole registry: no run registered twice, no version promoted twice in a row.
  const runs = registry.versions.map((v) => v.workflowId);
  expect(new Set(runs).size, `runs with a version: ${runs.join(', ')}`).toBe(runs.length);
  const promotedVersions = registry.events.flatMap((e) => (e.type === 'promoted' ? [e.version] : []));
  expect(new Set(promotedVersions).size, `promotions: ${promotedVersions.join(', ')}`).toBe(
    promotedVersions.length,
  );
  return version;
}

/** Follow a run to its end, approving (as rita, by signal) whenever its gate waits. */
export function finishRun(handle: WorkflowHandle<typeof dagWorkflow>): Promise<DagStatus> {
  return followRun(
    handle,
    () => undefined,
    200,
    (gate) =>
      void handle.signal('approval', {
        approver: 'rita',
        decision: 'approve',
        modelVersion: gate.modelVersion,
      }),
  );
}
