import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { validateModelInfra } from '../../activities/deploy/infra-validation.js';
import { describeModel, modelHistory } from '../../client/registry.js';
import { deploySchema } from '../../pipelines/deploy.js';
import { decideInfra } from '../../pipelines/deploy-rules.js';
import { followRun, startRun } from '../../client/runs.js';
import type { LifecycleConfig } from '../../pipelines/lifecycle.js';
import { resolveRunParams } from '../../pipelines/params.js';
import type { ServingServer } from '../../serving/server.js';
import type { DeployResult } from '../../workflows/deploy.js';
import type { DagStatus } from '../../workflows/index.js';
import type { SluiceConfig } from '../../lib/config.js';
import { useTestWorker } from '../support/worker.js';
import { flightsLifecycle, lifecycleRoles } from './fixtures/lifecycle.js';
import { flightRows, startTestServer, tamperWeights } from './fixtures/serving.js';

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles })),
);

const MODEL = 'delay-deploy';
const servers: ServingServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.close();
});

/**
 * Run the flights lifecycle with a deploy step: rita approves at the gate, `during` runs once the
 * version is registered (while the deploy goes on), and the finished run's status comes back.
 */
async function deployRun(
  client: Client,
  config: SluiceConfig,
  id: string,
  overrides: Partial<LifecycleConfig>,
  during?: (done: () => boolean) => Promise<void>,
): Promise<{ status: DagStatus; deploy: DeployResult }> {
  const spec = flightsLifecycle(id, { model: MODEL, ...overrides });
  const handle = await startRun(client, config, spec, {
    runParams: resolveRunParams(spec, {}),
    startedBy: 'dana',
  });
  let finished = false;
  let background: Promise<unknown> = Promise.resolve();
  const status = await followRun(
    handle,
    (step) => {
      if (step.id === 'register' && step.state === 'succeeded' && during) {
        // Held, not left floating: a failure in the traffic is reported by this test, after the run.
        background = during(() => finished).then(
          () => undefined,
          (error: unknown) => {
            finished = true;
            return error;
          },
        );
      }
    },
    200,
    (gate) => {
      void handle.signal('approval', {
        approver: 'rita',
        decision: 'approve',
        modelVersion: gate.modelVersion,
      });
    },
  );
  finished = true;
  const trafficError = await background;
  if (trafficError instanceof Error) throw trafficError;
  const deploy = status.steps.find((s) => s.id === 'deploy')?.output as unknown as DeployResult;
  return { status, deploy };
}

describe('the deploy step', () => {
  it('validates the approved model on its test split, then a direct deploy promotes it', async () => {
    const { status, deploy } = await deployRun(t.client, t.config, 'deploy-direct', {
      deploy: { strategy: 'direct', infra: { sampleRows: 100, maxP95Ms: 200 } },
    });
    expect(status.state).toBe('succeeded');
    expect(status.gates.at(-1)).toMatchObject({ step: 'deploy', gate: 'deploy', passed: true });
    expect(status.steps.find((s) => s.id === 'deploy')).toMatchObject({ activity: 'deploy' });
    expect(deploy).toMatchObject({ model: MODEL, version: 1, outcome: 'promoted', productionBefore: null });
    expect(deploy.infra.decision.passed).toBe(true);
    expect(deploy.infra.report).toMatchObject({ rows: 100, errors: 0, failure: null });
    expect(deploy.infra.report.p95Ms).toBeLessThan(200);

    const registry = await describeModel(t.client, MODEL);
    expect(registry.aliases.production).toBe(1);
    const promoted = (await modelHistory(t.client, MODEL)).filter((e) => e.type === 'promoted');
    expect(promoted).toHaveLength(1);
    expect(promoted[0]).toMatchObject({
      version: 1,
      authorisedBy: 'approved-run',
      approvedRun: expect.stringMatching(/^deploy-direct-/) as unknown,
    });
  }, 300_000);

  it('refuses a deploy whose latency budget the candidate cannot meet, before any traffic', async () => {
    const { status, deploy } = await deployRun(t.client, t.config, 'deploy-budget', {
      train: { model: 'logistic', epochs: 3, seed: 5 },
      deploy: { strategy: 'direct', infra: { sampleRows: 20, maxP95Ms: 0.000001 } },
    });
    expect(status.state).toBe('stopped');
    expect(status.stoppedBy).toMatchObject({ step: 'deploy', gate: 'deploy', passed: false });
    expect(status.stoppedBy?.reasons[0]).toBe('deploy refused');
    expect(deploy).toMatchObject({ version: 2, outcome: 'refused', productionBefore: 1 });
    expect(deploy.reasons.join(' ')).toMatch(/p95 latency .* ms per row is over the 0\.000001 ms budget/);
    expect((await describeModel(t.client, MODEL)).aliases.production).toBe(1);
  }, 300_000);

  it('rolls a worse model back after its canary window, leaving production untouched', async () => {
    const { status, deploy } = await deployRun(
      t.client,
      t.config,
      'deploy-canary-worse',
      {
        // One epoch at a vanishing learning rate: scores barely move from the initial weights.
        train: { model: 'logistic', epochs: 1, learningRate: 0.000001, seed: 9 },
        evaluate: { bless: { auc: { min: 0 } } },
        deploy: canary(await canaryServer()),
      },
      canaryTraffic(3),
    );
    expect(status.state).toBe('stopped');
    expect(status.stoppedBy).toMatchObject({ step: 'deploy', gate: 'deploy', passed: false });
    expect(deploy).toMatchObject({
      version: 3,
      strategy: 'canary',
      outcome: 'rolled-back',
      productionBefore: 1,
    });
    expect(deploy.observation?.candidate.predictions).toBeGreaterThanOrEqual(200);
    expect(deploy.observation?.production?.predictions).toBeGreaterThanOrEqual(200);
    expect(deploy.observation?.candidate.errors).toBe(0);
    expect(deploy.observation?.psi).toBeGreaterThan(0.2);
    expect(deploy.serving?.candidate).toMatchObject({ version: 3, errors: 0, errorRate: 0 });
    expect(deploy.serving?.candidate.requests).toBeGreaterThan(2);
    expect(deploy.decision?.passed).toBe(false);
    expect(deploy.reasons.join(' ')).toMatch(/score PSI [\d.]+ against production v1 is over 0\.2/);

    const registry = await describeModel(t.client, MODEL);
    expect(registry.aliases).toMatchObject({ production: 1, candidate: 3 });
    const promoted = (await modelHistory(t.client, MODEL)).filter((e) => e.type === 'promoted');
    expect(promoted.map((e) => e.version)).toEqual([1]);
  }, 300_000);

  it('promotes a comparable model automatically after its canary window', async () => {
    const { status, deploy } = await deployRun(
      t.client,
      t.config,
      'deploy-canary-good',
      { train: { model: 'logistic', epochs: 3, seed: 11 }, deploy: canary(await canaryServer()) },
      canaryTraffic(4),
    );
    // The reasons are the failure message, so a failure here says why the canary was not promoted.
    expect(deploy.outcome, deploy.reasons.join('; ')).toBe('promoted');
    expect(deploy).toMatchObject({ version: 4, productionBefore: 1 });
    expect(status.state).toBe('succeeded');
    expect(deploy.decision?.passed).toBe(true);
    expect(deploy.observation?.psi).toBeLessThan(0.2);
    expect(deploy.serving?.candidate.p95Ms).toBeGreaterThan(0);
    expect(deploy.serving?.production?.p95Ms).toBeGreaterThan(0);
    expect(deploy.reasons.join(' ')).toMatch(
      /p95 latency [\d.]+ ms is [\d.]+× production's [\d.]+ ms, within 25×/,
    );

    const registry = await describeModel(t.client, MODEL);
    expect(registry.aliases).toMatchObject({ production: 4, previous: 1 });
    const promoted = (await modelHistory(t.client, MODEL)).filter((e) => e.type === 'promoted');
    expect(promoted.map((e) => e.version)).toEqual([1, 4]);
  }, 300_000);

  it('promotes after a shadow window in which the candidate scored every request production answered', async () => {
    const shadow = await startTestServer(t.client, t.config, [{ model: MODEL, shadow: true }]);
    servers.push(shadow.server);
    const { deploy } = await deployRun(
      t.client,
      t.config,
      'deploy-shadow',
      {
        train: { model: 'logistic', epochs: 3, seed: 13 },
        deploy: { ...canary(shadow.url), strategy: 'shadow' },
      },
      traffic(shadow, { production: 4, candidate: 5 }),
    );
    expect(deploy.outcome, deploy.reasons.join('; ')).toBe('promoted');
    expect(deploy).toMatchObject({ version: 5, strategy: 'shadow', productionBefore: 4 });
    const { candidate, production } = deploy.observation ?? {};
    expect(candidate?.predictions).toBeGreaterThanOrEqual(200);
    // Shadow scores every request, so the log holds as many candidate rows as production rows (± the
    // requests in flight at the window's edges).
    expect(Math.abs((candidate?.predictions ?? 0) - (production?.predictions ?? 0))).toBeLessThanOrEqual(100);
    expect(deploy.serving?.candidate).toMatchObject({ errors: 0, p95Ms: null });
    expect(deploy.reasons.join(' ')).toMatch(/no latency for candidate v5 in the window/);
    expect((await describeModel(t.client, MODEL)).aliases).toMatchObject({ production: 5, previous: 4 });
  }, 300_000);

  it('a staged canary steers the replica through the registry (25 % then 50 %), and promotion clears the split', async () => {
    const replica = await steeredServer();
    const { deploy } = await deployRun(
      t.client,
      t.config,
      'deploy-steered-good',
      {
        train: { model: 'logistic', epochs: 3, seed: 17 },
        deploy: steered(replica.url, [25, 50]),
      },
      steeredTraffic(replica, 6),
    );
    expect(deploy.outcome, deploy.reasons.join('; ')).toBe('promoted');
    expect(deploy).toMatchObject({ version: 6, productionBefore: 5 });
    expect(deploy.stages.map((s) => [s.percent, s.decision.passed])).toEqual([
      [25, true],
      [50, true],
    ]);
    expect(deploy.traffic.map((x) => [x.version, x.canaryPercent, x.shadow])).toEqual([
      [6, 25, false],
      [6, 50, false],
    ]);
    // The replica followed the registry (it was started without --canary) and said so.
    expect(deploy.replicas).toEqual([
      expect.objectContaining({ applied: true, candidate: 6, canaryPercent: 50, source: 'registry' }),
    ]);
    expect(deploy.observation?.candidate.predictions).toBeGreaterThanOrEqual(100);
    const registry = await describeModel(t.client, MODEL);
    expect(registry.aliases).toMatchObject({ production: 6, candidate: null });
    expect(registry.traffic).toMatchObject({ version: null, canaryPercent: 0, shadow: false });
    const steering = (await modelHistory(t.client, MODEL)).filter(
      (e) => e.type === 'traffic' && e.version === 6,
    );
    expect(steering.map((e) => e.type === 'traffic' && [e.version, e.canaryPercent, e.authorisedBy])).toEqual(
      [
        [6, 25, 'approved-run'],
        [6, 50, 'approved-run'],
      ],
    );
    await replica.server.pool.refresh(MODEL);
    expect(replica.server.pool.describe(MODEL)['traffic']).toMatchObject({ canary: 0, candidate: null });
  }, 300_000);

  it('a steered canary that fails its first stage is rolled back and its traffic set back to none', async () => {
    const replica = await steeredServer();
    const { deploy } = await deployRun(
      t.client,
      t.config,
      'deploy-steered-worse',
      {
        train: { model: 'logistic', epochs: 1, learningRate: 0.000001, seed: 19 },
        evaluate: { bless: { auc: { min: 0 } } },
        deploy: steered(replica.url, [25, 50]),
      },
      steeredTraffic(replica, 7),
    );
    expect(deploy.outcome).toBe('rolled-back');
    expect(deploy.stages.map((s) => [s.percent, s.decision.passed])).toEqual([[25, false]]);
    expect(deploy.traffic.map((x) => [x.version, x.canaryPercent])).toEqual([
      [7, 25],
      [null, 0],
    ]);
    expect(deploy.reasons.join(' ')).toMatch(
      /stage 1 of 2 \(25 %\): .*score PSI [\d.]+ against production v6 is over 0\.2/,
    );
    expect(deploy.replicas).toEqual([expect.objectContaining({ applied: true, canaryPercent: 0 })]);
    const registry = await describeModel(t.client, MODEL);
    expect(registry.aliases).toMatchObject({ production: 6, candidate: 7 });
    expect(registry.traffic).toMatchObject({ version: null, canaryPercent: 0 });
  }, 300_000);

  it('infra validation reports a candidate whose bytes no longer match the registry, and the deploy is refused', async () => {
    const restore = await tamperWeights(t.client, t.config, MODEL, 2);
    try {
      const report = await validateModelInfra(
        { home: t.config.home, dataRoots: t.config.dataRoots, client: t.client },
        { model: MODEL, version: 2, sampleRows: 10 },
      );
      expect(report).toMatchObject({ version: 2, rows: 0 });
      expect(report.failure).toMatch(/hashes to [0-9a-f]{64}/);
      const decision = decideInfra(report, deploySchema.parse({ strategy: 'direct' }));
      expect(decision.passed).toBe(false);
      expect(decision.reasons[0]).toMatch(/^infra validation of delay-deploy v2 failed: /);
    } finally {
      await restore();
    }
  });
});

let shared: { server: ServingServer; url: string } | undefined;

/** One serving replica for the canary tests: production answers half the requests, the candidate half. */
async function canaryServer(): Promise<string> {
  if (!shared) {
    shared = await startTestServer(t.client, t.config, [{ model: MODEL, canaryPercent: 50 }]);
    servers.push(shared.server);
  }
  return shared.url;
}

/** A short canary judged on the replica's metrics and the prediction log. */
function canary(url: string): NonNullable<LifecycleConfig['deploy']> {
  return {
    strategy: 'canary',
    percent: 50,
    observe: '2s',
    metricsUrls: [`${url}/metrics`],
    // p95 over a 2 s window on a shared 2-core machine swings past 4× production's (CI saw 4.07×);
    // these tests are about promotion and traffic, so the bound is wide. The rule itself is unit-tested.
    thresholds: { maxLatencyRatio: 25 },
  };
}

/** Traffic through the shared canary replica, where production is v1. */
function canaryTraffic(candidate: number): (done: () => boolean) => Promise<void> {
  return async (done) => {
    if (!shared) throw new Error('start the canary server first');
    await traffic(shared, { production: 1, candidate })(done);
  };
}

/** Serving picks up the new candidate, and real traffic flows until the run ends. */
function traffic(
  { server, url }: { server: ServingServer; url: string },
  loaded: { production: number; candidate: number },
): (done: () => boolean) => Promise<void> {
  return async (done) => {
    // Distinct rows in every request, so each version's score distribution is a real one.
    // Shuffled (seeded): the file is ordered by date, and the versions must see the same population.
    const rows = shuffle(await flightRows(2000));
    await server.pool.refresh(MODEL);
    expect(server.pool.describe(MODEL)['loaded']).toMatchObject({
      production: { version: loaded.production },
      candidate: { version: loaded.candidate },
    });
    for (let i = 0; !done(); i = (i + 50) % rows.length) {
      const response = await fetch(`${url}/v1/models/${MODEL}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: rows.slice(i, i + 50) }),
      });
      expect(response.status).toBe(200);
      await new Promise((r) => setTimeout(r, 40));
    }
    await server.predictionLog.flush();
  };
}

/** A seeded Fisher–Yates shuffle, so every request carries rows from the whole sample. */
function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

let steeredReplica: { server: ServingServer; url: string } | undefined;

/** A replica started without --canary or --shadow: it follows the registry's split, polling often. */
async function steeredServer(): Promise<{ server: ServingServer; url: string }> {
  if (!steeredReplica) {
    steeredReplica = await startTestServer(t.client, t.config, [{ model: MODEL }], { pollMs: 200 });
    servers.push(steeredReplica.server);
  }
  return steeredReplica;
}

/** A staged canary the deploy steers through the registry, judged on the replica and the log. */
function steered(url: string, percents: number[]): NonNullable<LifecycleConfig['deploy']> {
  return {
    strategy: 'canary',
    stages: percents.map((percent) => ({ percent, observe: '3s' })),
    metricsUrls: [`${url}/metrics`],
    thresholds: { maxLatencyRatio: 25, minPredictions: 100 },
  };
}

/** Once the replica has loaded the candidate (when the deploy sets its traffic), traffic until the end. */
function steeredTraffic(
  replica: { server: ServingServer; url: string },
  candidate: number,
): (done: () => boolean) => Promise<void> {
  return async (done) => {
    const rows = shuffle(await flightRows(2000));
    const loaded = () =>
      (replica.server.pool.describe(MODEL)['loaded'] as { candidate: { version: number } | null }).candidate
        ?.version === candidate;
    while (!loaded() && !done()) await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; !done(); i = (i + 50) % rows.length) {
      const response = await fetch(`${replica.url}/v1/models/${MODEL}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: rows.slice(i, i + 50) }),
      });
      expect(response.status).toBe(200);
      await new Promise((r) => setTimeout(r, 40));
    }
    await replica.server.predictionLog.flush();
  };
}
