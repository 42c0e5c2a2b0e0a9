/**
 * Record the histories `test/replay/` replays: `npx tsx test/replay/record-histories.ts [prefix…]`.
 * Runs each scenario on a fresh dev server with a real worker and writes the history in Temporal's
 * own JSON format, written by `temporal workflow show --output json` itself, to `test/histories/`.
 * With prefixes, only the scenarios whose names start with one of them are recorded (e.g. `registry-`).
 * Re-record only on purpose: a committed history is the evidence that old runs still replay.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import {
  promoteModel,
  registerModelVersion,
  registryTarget,
  rollbackModel,
  type RegistryTarget,
} from '../../client/registry.js';
import { followRun, startRun } from '../../client/runs.js';
import { startScratchDevServer } from '../../infra/temporal/dev-server.js';
import { definePipeline } from '../../pipelines/define.js';
import { firstDag } from '../../pipelines/first-dag.pipeline.js';
import { resolveRunParams } from '../../pipelines/params.js';
import { registryWorkflowId, type RegisterVersionInput } from '../../pipelines/registry.js';
import type { ApprovalRequest } from '../../pipelines/approval.js';
import type { PipelineSpec } from '../../pipelines/spec.js';
import type { DagStatus, monitorWorkflow } from '../../workflows/index.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { flightsLifecycle, lifecycleRoles } from '../integration/fixtures/lifecycle.js';
import { loadConfig, type SluiceConfig } from '../../lib/config.js';
import { createLogger } from '../../worker/logging.js';
import { startWorker } from '../../worker/run.js';
import { freePort, projectRoot } from '../support/paths.js';

/** Approve (or not) what a run's open gate asks about, the way a person would, once it opens. */
type Drive = (handle: WorkflowHandle) => Promise<void>;
const atGate =
  (...requests: Omit<ApprovalRequest, 'modelVersion'>[]): Drive =>
  async (handle) => {
    for (;;) {
      const status = await handle.query<DagStatus>('status').catch(() => undefined);
      const gate = status?.approvals.find((g) => g.state === 'awaiting');
      if (gate) {
        for (const request of requests)
          await handle.signal('approval', { ...request, modelVersion: gate.modelVersion });
        return;
      }
      if (status && status.state !== 'running') return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

const scenarios: { name: string; spec: PipelineSpec; params: Record<string, string>; drive?: Drive }[] = [
  {
    name: 'lifecycle-approved',
    spec: flightsLifecycle('replay-lifecycle', { model: 'replay-lifecycle' }),
    params: {},
    drive: atGate(
      { approver: 'recorder', decision: 'approve', comment: 'my own run' },
      { approver: 'rita', decision: 'approve', comment: 'metrics fine' },
    ),
  },
  {
    name: 'lifecycle-rejected',
    spec: flightsLifecycle('replay-lifecycle-rejected', { model: 'replay-rejected' }),
    params: {},
    drive: atGate({ approver: 'raj', decision: 'reject', comment: 'needs a fairness review' }),
  },
  {
    name: 'lifecycle-expired',
    spec: flightsLifecycle('replay-lifecycle-expired', {
      model: 'replay-expired',
      approval: { approvers: ['role:risk'], expiresIn: '3s', escalateTo: ['head-of-risk'] },
    }),
    params: {},
  },
  {
    name: 'lifecycle-search',
    spec: flightsLifecycle('replay-lifecycle-search', {
      model: 'replay-search',
      search: { strategy: 'grid', space: { learningRate: [0.01, 0.1] }, trials: 2, maxParallel: 2 },
      evaluate: { bless: { auc: { min: 0.99 } } },
    }),
    params: {},
  },
  {
    name: 'lifecycle-not-blessed',
    spec: flightsLifecycle('replay-lifecycle-unblessed', {
      model: 'replay-unblessed',
      evaluate: { bless: { auc: { min: 0.99 } } },
    }),
    params: {},
  },
  {
    name: 'deploy-direct',
    spec: flightsLifecycle('replay-deploy-direct', {
      model: 'replay-deploy',
      deploy: { strategy: 'direct', infra: { sampleRows: 50, maxP95Ms: 500 } },
    }),
    params: {},
    drive: atGate({ approver: 'rita', decision: 'approve', comment: 'ship it' }),
  },
  {
    // After deploy-direct: production exists, no serving traffic reaches the canary, so it rolls back.
    name: 'deploy-canary-rolled-back',
    spec: flightsLifecycle('replay-deploy-canary', {
      model: 'replay-deploy',
      train: { model: 'logistic', epochs: 3, seed: 2 },
      deploy: { strategy: 'canary', percent: 20, observe: '2s', infra: { sampleRows: 50, maxP95Ms: 500 } },
    }),
    params: {},
    drive: atGate({ approver: 'rita', decision: 'approve', comment: 'canary first' }),
  },
  { name: 'first-dag-succeeded', spec: firstDag, params: {} },
  { name: 'first-dag-failed-missing-source', spec: firstDag, params: { source: 'no/such/file.csv' } },
  {
    name: 'diamond-parallel',
    spec: definePipeline({
      id: 'diamond',
      steps: [
        { id: 'a', activity: 'noop' },
        { id: 'b', activity: 'noop', needs: ['a'] },
        { id: 'c', activity: 'noop', needs: ['a'] },
        { id: 'd', activity: 'writeRunSummary', needs: ['b', 'c'] },
      ],
    }),
    params: {},
  },
  {
    // Light steps as local activities, one as an activity task, and a ready set's two cacheable steps
    // looked up in one call (the sluice-fast-steps patch).
    name: 'fast-steps',
    spec: definePipeline({
      id: 'fast-steps',
      steps: [
        { id: 'a', activity: 'noop' },
        { id: 'b', activity: 'noop', local: false, needs: ['a'] },
        { id: 'c', activity: 'noop', cache: true, needs: ['a'] },
        { id: 'd', activity: 'noop', cache: true, needs: ['a'] },
        { id: 'e', activity: 'writeRunSummary', needs: ['b', 'c', 'd'] },
      ],
    }),
    params: {},
  },
  {
    // The loop that starts each step from the callbacks of the steps it waits for (the
    // sluice-lean-loop patch): a fan-out and join of local steps, one activity task, a cacheable step
    // beside plain ones, and a step skipped by its condition.
    name: 'lean-loop',
    spec: definePipeline({
      id: 'lean-loop',
      maxParallel: 3,
      params: { extra: { type: 'boolean', default: false } },
      steps: [
        { id: 'a', activity: 'noop' },
        { id: 'b', activity: 'noop', needs: ['a'] },
        { id: 'c', activity: 'noop', local: false, needs: ['a'] },
        { id: 'd', activity: 'noop', cache: true, needs: ['a'] },
        { id: 'e', activity: 'noop', needs: ['a'] },
        { id: 'f', activity: 'noop', needs: ['b'], when: { param: 'extra', equals: true } },
        { id: 'g', activity: 'writeRunSummary', needs: ['c', 'd', 'e', 'f'] },
      ],
    }),
    params: {},
  },
];
// The same runs again under the lean loop (histories recorded since sluice-lean-loop): approval gates
// (approved, rejected), a search child and a refused evaluation gate, a deploy child, a failed step.
// Record them with `npx tsx test/replay/record-histories.ts lean-lifecycle lean-deploy lean-first-dag`.
scenarios.push(
  ...scenarios
    .filter((s) =>
      [
        'lifecycle-approved',
        'lifecycle-rejected',
        'lifecycle-search',
        'deploy-direct',
        'first-dag-failed-missing-source',
      ].includes(s.name),
    )
    .map((s) => ({ ...s, name: `lean-${s.name}` })),
);

/** A version's lineage for the registry scenarios (approved: its run has an approve decision). */
function lineage(n: number, approved: boolean): RegisterVersionInput {
  const hex = (value: number) => value.toString(16).padStart(2, '0').repeat(32);
  return {
    requestId: `replay-run-${n}/register`,
    runId: `replay-run-id-${n}`,
    workflowId: `replay-run-${n}`,
    pipeline: 'replay',
    dataSha256s: [hex(100 + n)],
    model: { uri: `sha256:${hex(n)}`, sha256: hex(n), kind: 'model', format: 'json', bytes: 1000 + n },
    metrics: { auc: { value: 0.7 + n / 100, lo: null, hi: null } },
    approvals: approved
      ? [{ approver: 'ann', decision: 'approve', at: '2026-11-24T10:00:00.000Z', comment: null }]
      : [],
    registeredBy: 'recorder',
  };
}

const promoter = { by: 'grace', authorisedBy: 'role:promoter' as const, roleMembers: ['grace'] };

/**
 * Registry scenarios: each drives a `registryWorkflow` through its updates and returns the run to
 * record (the registry never finishes, so a history ends open unless it continued as new).
 */
const registryScenarios: {
  name: string;
  record: (client: Client, target: RegistryTarget) => Promise<{ workflowId: string; runId?: string }>;
}[] = [
  {
    name: 'registry-happy-path',
    record: async (client, target) => {
      const model = 'replay-happy';
      await registerModelVersion(client, target, model, lineage(1, true));
      await registerModelVersion(client, target, model, lineage(2, false));
      await registerModelVersion(client, target, model, lineage(2, false)); // idempotent retry
      await promoteModel(client, model, {
        version: 1,
        by: 'bot',
        reason: 'approved',
        authorisedBy: 'approved-run',
      });
      await promoteModel(client, model, { version: 2, reason: 'better auc', ...promoter });
      await promoteModel(client, model, { version: 2, reason: 'again', ...promoter }); // no-op
      await rollbackModel(client, model, { reason: 'latency', ...promoter });
      return { workflowId: registryWorkflowId(model) };
    },
  },
  {
    name: 'registry-refusals',
    record: async (client, target) => {
      const model = 'replay-refusals';
      await registerModelVersion(client, target, model, lineage(1, false));
      const attempts = [
        () =>
          promoteModel(client, model, {
            version: 1,
            by: 'bot',
            reason: 'ship',
            authorisedBy: 'approved-run',
          }),
        () => promoteModel(client, model, { version: 1, reason: 'ship', ...promoter, by: 'eve' }),
        () => promoteModel(client, model, { version: 5, reason: 'typo', ...promoter }),
        () => promoteModel(client, model, { version: 1, reason: '', ...promoter }), // rejected by the validator
        () => rollbackModel(client, model, { reason: 'nothing to go back to', ...promoter }),
      ];
      for (const attempt of attempts) {
        const refused = await attempt().then(
          () => false,
          () => true,
        );
        if (!refused) throw new Error('the registry accepted a request it must refuse');
      }
      return { workflowId: registryWorkflowId(model) };
    },
  },
  {
    name: 'registry-continued-as-new',
    record: async (client, target) => {
      const model = 'replay-can';
      const low = { ...target, maxHistoryEvents: 20 };
      await registerModelVersion(client, low, model, lineage(1, true));
      const { runId } = await client.workflow.getHandle(registryWorkflowId(model)).describe();
      for (let n = 2; n <= 6; n++) await registerModelVersion(client, low, model, lineage(n, false));
      await promoteModel(client, model, { version: 6, reason: 'newest', ...promoter });
      const first = await client.workflow.getHandle(registryWorkflowId(model), runId).describe();
      if (first.status.name !== 'CONTINUED_AS_NEW') throw new Error('the registry did not continue as new');
      return { workflowId: registryWorkflowId(model), runId };
    },
  },
];

/**
 * The monitor scenario: a lifecycle run approved and promoted, then the monitor on the same flights
 * with every distance tripled — a breach, an alert and the retraining start (left waiting at its gate).
 * Returns the monitor's workflow id.
 */
async function recordMonitor(client: Client, config: SluiceConfig): Promise<string> {
  const model = 'replay-monitored';
  const spec = flightsLifecycle('replay-monitor', { model });
  const handle = await startRun(client, config, spec, { runParams: {}, startedBy: 'recorder' });
  await Promise.all([
    followRun(handle, () => undefined),
    atGate({ approver: 'rita', decision: 'approve', comment: 'baseline' })(handle),
  ]);
  await promoteModel(client, model, {
    version: 1,
    by: 'recorder',
    reason: 'baseline for the monitor',
    authorisedBy: 'approved-run',
    approvedRun: handle.workflowId,
  });
  const shifted = join(config.home, 'flights-shifted.parquet');
  const flights = join(projectRoot, 'node_modules/vega-datasets/data/flights-3m.parquet');
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT date, delay, distance * 3 AS distance, origin, destination FROM read_parquet(${sqlString(flights)})) TO ${sqlString(shifted)} (FORMAT parquet)`,
    ),
  );
  const workflowId = 'replay-monitor-drift-retrain';
  const result = await client.workflow.execute<typeof monitorWorkflow>('monitorWorkflow', {
    taskQueue: config.taskQueues.orchestration,
    workflowId,
    args: [{ model, pipeline: spec, current: { source: shifted }, policy: { onBreach: 'retrain' } }],
  });
  if (!result.retraining?.started) throw new Error('the monitor did not start a retraining');
  return workflowId;
}

const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.some((prefix) => name.startsWith(prefix));

const home = await mkdtemp(join(tmpdir(), 'sluice-record-'));
await writeFile(join(home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles }));
const address = `127.0.0.1:${await freePort()}`;
// The recording home is a data root too: the monitor scenario writes its drifted data there.
const config = loadConfig(
  {
    SLUICE_DATA_ROOTS: `${projectRoot}:${home}`,
    ...process.env,
    TEMPORAL_ADDRESS: address,
    SLUICE_HOME: home,
  },
  projectRoot,
);
const { cli, server } = await startScratchDevServer(config, {
  address,
  logFile: join(home, 'temporal.log'),
  cacheDir: join(projectRoot, '.sluice', 'bin'),
});
const worker = await startWorker(config, createLogger(config, pino.destination(join(home, 'worker.log'))));
const client = new Client({ connection: await Connection.connect({ address }) });
try {
  const idsFile = join(projectRoot, 'test', 'histories', 'workflow-ids.json');
  const show = async (name: string, workflowId: string, runId?: string) => {
    const file = join(projectRoot, 'test', 'histories', `${name}.json`);
    const { stdout } = await promisify(execFile)(
      cli.path,
      [
        'workflow',
        'show',
        '--workflow-id',
        workflowId,
        ...(runId ? ['--run-id', runId] : []),
        '--address',
        address,
        '--output',
        'json',
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    await writeFile(file, stdout);
    // A history does not carry its workflow id, but code may use it (child ids derive from it):
    // the replay test reads the ids recorded here.
    const ids = JSON.parse(await readFile(idsFile, 'utf8').catch(() => '{}')) as Record<string, string>;
    ids[`${name}.json`] = workflowId;
    const sorted = Object.fromEntries(Object.entries(ids).sort(([a], [b]) => a.localeCompare(b)));
    await writeFile(idsFile, `${JSON.stringify(sorted, null, 2)}\n`);
    console.log(`recorded ${file}`);
  };
  for (const scenario of registryScenarios.filter((s) => wanted(s.name))) {
    const { workflowId, runId } = await scenario.record(client, registryTarget(config));
    await show(scenario.name, workflowId, runId);
  }
  for (const scenario of scenarios.filter((s) => wanted(s.name))) {
    const handle = await startRun(client, config, scenario.spec, {
      runParams: resolveRunParams(scenario.spec, scenario.params),
      startedBy: 'recorder',
      workflowId: `replay-${scenario.name}`,
    });
    await Promise.all([followRun(handle, () => undefined).catch(() => undefined), scenario.drive?.(handle)]);
    await show(scenario.name, handle.workflowId);
    if (scenario.spec.steps.some((step) => step.search)) {
      await show(`${scenario.name}-trials`, `${handle.workflowId}/train`);
    }
    for (const step of scenario.spec.steps.filter((s) => s.deploy)) {
      await show(`${scenario.name}-${step.id}`, `${handle.workflowId}/${step.id}`);
    }
  }
  if (wanted('monitor-drift-retrain')) {
    await show('monitor-drift-retrain', await recordMonitor(client, config));
  }
} finally {
  await client.connection.close();
  await worker.shutdown();
  await server.stop();
}
