import { describe, expect, it } from 'vitest';
import { scorePsi } from '../../activities/deploy/observe-deployment.js';
import { definePipeline } from '../../pipelines/define.js';
import { deploySchema } from '../../pipelines/deploy.js';
import {
  decideInfra,
  decideObservation,
  deployGate,
  histogramQuantile,
  servingWindow,
  type DeployObservation,
  type ServingSnapshot,
} from '../../pipelines/deploy-rules.js';
import { mlLifecycle } from '../../pipelines/lifecycle.js';
import { stepSchema } from '../../pipelines/spec.js';

const spec = deploySchema.parse({ strategy: 'canary', observe: '2s' });

const observation = (overrides: Partial<DeployObservation> = {}): DeployObservation => ({
  from: 0,
  to: 2000,
  candidate: { version: 2, predictions: 500, errors: 0, meanScore: 0.2 },
  production: { version: 1, predictions: 4500, errors: 0, meanScore: 0.2 },
  psi: 0.03,
  ...overrides,
});

const snapshot = (v1: number[], v2: number[], requests: [number, number]): ServingSnapshot => {
  const series = (counts: number[], n: number) => ({
    requests: n,
    errors: 0,
    buckets: [0.001, 0.01, 0.1].map((le, i) => ({ le, count: counts[i] ?? 0 })),
    count: counts[counts.length - 1] ?? 0,
  });
  return { versions: { '1': series(v1, requests[0]), '2': series(v2, requests[1]) } };
};

describe('deploy decisions', () => {
  it('defaults a deploy spec, and a step takes exactly one of activity, approval and deploy', () => {
    expect(spec).toMatchObject({ percent: 10, metricsUrls: [], infra: { sampleRows: 200 } });
    expect(spec.thresholds).toEqual({
      minPredictions: 200,
      maxErrorRate: 0.01,
      maxPsi: 0.2,
      maxLatencyRatio: 1.5,
    });
    const both = stepSchema.safeParse({ id: 'd', activity: 'noop', deploy: { strategy: 'direct' } });
    expect(both.success).toBe(false);
    expect(JSON.stringify(both.error?.issues)).toMatch(/exactly one of activity, approval and deploy/);
    expect(stepSchema.safeParse({ id: 'd', deploy: { strategy: 'shadow' } }).success).toBe(true);
    expect(stepSchema.safeParse({ id: 'd', deploy: { strategy: 'blue-green' } }).success).toBe(false);
  });

  it('refuses at definition time a deploy step that needs no registerModel step', () => {
    const pipeline = (needs: string[]) =>
      definePipeline({
        id: 'p',
        steps: [
          { id: 'register', activity: 'registerModel', params: { model: 'm' } },
          { id: 'other', activity: 'noop' },
          { id: 'deploy', needs, deploy: { strategy: 'direct' } },
        ],
      });
    expect(() => pipeline(['other'])).toThrow(
      /deploy step "deploy" deploys the version a registerModel step registered: add that step to its needs/,
    );
    expect(pipeline(['register']).steps).toHaveLength(3);
  });

  it('appends a deploy step after register when the lifecycle asks for one', () => {
    const lifecycle = mlLifecycle({
      id: 'm',
      source: { uri: 'data.parquet' },
      features: { numeric: ['x'] },
      label: { sql: 'y', task: 'binary' },
      split: { kind: 'hash', key: 'id' },
      train: { model: 'logistic' },
      approval: { approvers: ['role:risk'] },
      deploy: { strategy: 'canary', percent: 5 },
    });
    const last = lifecycle.steps.at(-1);
    expect(last).toMatchObject({
      id: 'deploy',
      needs: ['register'],
      deploy: { strategy: 'canary', percent: 5 },
    });
  });

  it('refuses infra validation on a load failure, scoring errors or a latency budget miss', () => {
    const report = { model: 'm', version: 2, rows: 200, errors: 0, p50Ms: 0.2, p95Ms: 0.4, failure: null };
    expect(decideInfra(report, spec).passed).toBe(true);
    expect(decideInfra({ ...report, p95Ms: 80 }, spec).reasons.join(' ')).toMatch(
      /p95 latency 80 ms per row is over the 50 ms budget/,
    );
    expect(decideInfra({ ...report, errors: 3 }, spec).passed).toBe(false);
    expect(decideInfra({ ...report, rows: 0 }, spec).passed).toBe(false);
    const broken = decideInfra({ ...report, failure: 'weights now hash to abc' }, spec);
    expect(broken).toEqual({
      passed: false,
      reasons: ['infra validation of m v2 failed: weights now hash to abc'],
    });
  });

  it('promotes only with enough predictions, few errors and a stable score distribution', () => {
    expect(decideObservation(observation(), spec).passed).toBe(true);
    const few = decideObservation(
      observation({ candidate: { version: 2, predictions: 20, errors: 0, meanScore: 0.2 } }),
      spec,
    );
    expect(few.passed).toBe(false);
    expect(few.reasons[0]).toMatch(/only 20 candidate predictions in the window \(need 200\)/);
    const errors = observation({ candidate: { version: 2, predictions: 500, errors: 10, meanScore: 0.2 } });
    expect(decideObservation(errors, spec).reasons[0]).toMatch(/error rate 2% \(10 of 500\) is over 1%/);
    expect(decideObservation(observation({ psi: 0.9 }), spec).passed).toBe(false);
    // A model's first deployment has no production to compare with: its own errors decide.
    const first = decideObservation(observation({ production: null, psi: null }), spec);
    expect(first.passed).toBe(true);
    expect(first.reasons[1]).toMatch(/score distribution not compared/);
  });

  it('reads the window from two metrics snapshots and rolls back a slow candidate', () => {
    const before = snapshot([10, 10, 10], [0, 0, 0], [10, 0]);
    const after = snapshot([100, 110, 110], [0, 50, 100], [110, 100]);
    const production = servingWindow(before, after, 1);
    const candidate = servingWindow(before, after, 2);
    expect(production).toMatchObject({ version: 1, requests: 100, errors: 0, errorRate: 0 });
    // The 95th of 100 observations: 90 within 1 ms, 10 in (1 ms, 10 ms], so inside that bucket.
    expect(production.p95Ms).toBeCloseTo(1 + (9 * 5) / 10, 6);
    expect(candidate.p95Ms).toBeCloseTo(10 + (90 * 45) / 50, 6);
    const slow = decideObservation(observation(), spec, { candidate, production });
    expect(slow.passed).toBe(false);
    expect(slow.reasons.join(' ')).toMatch(/p95 latency 91 ms is 16\.545× production's 5\.5 ms, over 1\.5×/);
    const same = decideObservation(observation(), spec, { candidate: production, production });
    expect(same.passed).toBe(true);
    const silent = servingWindow(after, after, 2);
    expect(decideObservation(observation(), spec, { candidate: silent, production }).passed).toBe(false);
  });

  it('turns a deploy outcome into a gate of the run', () => {
    expect(deployGate('deploy', { outcome: 'promoted', reasons: ['ok'] })).toEqual({
      step: 'deploy',
      gate: 'deploy',
      passed: true,
      reasons: ['deploy promoted', 'ok'],
    });
    expect(deployGate('deploy', { outcome: 'unchanged', reasons: [] }).passed).toBe(true);
    expect(deployGate('deploy', { outcome: 'rolled-back', reasons: ['psi'] }).passed).toBe(false);
    expect(deployGate('deploy', null)).toMatchObject({ passed: false, reasons: ['deploy no outcome'] });
  });

  it('computes histogram quantiles as Prometheus does, and PSI on production deciles', () => {
    expect(histogramQuantile([], 0, 0.95)).toBeNull();
    expect(histogramQuantile([{ le: 1, count: 10 }], 10, 0.5)).toBe(0.5);
    expect(histogramQuantile([{ le: 1, count: 5 }], 10, 0.95)).toBe(1);
    const reference = Array.from({ length: 1000 }, (_, i) => i / 1000);
    expect(scorePsi(reference, reference)).toBeCloseTo(0, 9);
    expect(
      scorePsi(
        reference,
        reference.map((x) => x / 4 + 0.7),
      ),
    ).toBeGreaterThan(1);
    expect(scorePsi([], reference)).toBeNull();
  });
});
