import { describe, expect, it } from 'vitest';
import { deployStagesProblem, deploySchema } from '../../pipelines/deploy.js';
import { deployStages } from '../../pipelines/deploy-rules.js';
import type { RegisterVersionInput, RegistryState, SetTrafficInput } from '../../pipelines/registry.js';
import {
  applyPromote,
  applyRegister,
  describeRegistry,
  emptyRegistry,
  isRefused,
} from '../../pipelines/registry-rules.js';
import { applySetTraffic, setTrafficRequestProblem } from '../../pipelines/registry-traffic.js';
import { registrySplit } from '../../serving/model-pool.js';

const at = '2026-12-05T10:00:00.000Z';
const sha = (n: number) => n.toString(16).padStart(64, '0');

function lineage(n: number, approved: boolean): RegisterVersionInput {
  return {
    requestId: `run-${n}/step`,
    runId: `run-id-${n}`,
    workflowId: `churn-run-${n}`,
    pipeline: 'churn',
    dataSha256s: [sha(1000 + n)],
    model: { uri: `sluice://sha256/${sha(n)}`, sha256: sha(n), kind: 'model', format: 'json', bytes: 1 },
    metrics: {},
    approvals: approved ? [{ approver: 'risk-ann', decision: 'approve', at, comment: null }] : [],
    registeredBy: `run:churn-run-${n}`,
  };
}

/** v1 approved and in production, v2 the approved candidate, v3 (when asked) an unapproved candidate. */
function registry(withUnapproved = false): RegistryState {
  const state = emptyRegistry('churn');
  applyRegister(state, lineage(1, true), at);
  applyPromote(state, { version: 1, by: 'x', reason: 'r', authorisedBy: 'approved-run' }, at);
  applyRegister(state, lineage(2, true), at);
  if (withUnapproved) applyRegister(state, lineage(3, false), at);
  return state;
}

function byRun(version: number, canaryPercent: number, shadow = false): SetTrafficInput {
  return {
    version,
    canaryPercent,
    shadow,
    by: `run:churn-run-${version}`,
    reason: 'canary stage',
    authorisedBy: 'approved-run',
    approvedRun: `churn-run-${version}`,
  };
}

describe('the registry holds the candidate traffic a deploy sets', () => {
  it("the candidate's approved run sets the split; serving reads it; the same split again is unchanged", () => {
    const state = registry();
    const set = applySetTraffic(state, byRun(2, 10), at);
    expect(set).toMatchObject({ outcome: 'set', traffic: { version: 2, canaryPercent: 10, shadow: false } });
    const description = describeRegistry(state);
    expect(registrySplit(description)).toEqual({ canaryPercent: 10, shadow: false, source: 'registry' });
    expect(applySetTraffic(state, byRun(2, 10), at)).toMatchObject({ outcome: 'unchanged' });
    expect(state.events.filter((e) => e.type === 'traffic')).toHaveLength(1);
  });

  it('promoting the candidate or registering a new one clears the split, so it never reaches another version', () => {
    const promoted = registry();
    applySetTraffic(promoted, byRun(2, 50), at);
    applyPromote(promoted, { version: 2, by: 'x', reason: 'r', authorisedBy: 'approved-run' }, at);
    expect(describeRegistry(promoted).traffic).toMatchObject({ version: null, canaryPercent: 0 });

    const replaced = registry();
    applySetTraffic(replaced, byRun(2, 50), at);
    applyRegister(replaced, lineage(3, true), at);
    expect(registrySplit(describeRegistry(replaced))).toMatchObject({ canaryPercent: 0, shadow: false });
  });

  it('refuses, and records, traffic for a version that is not the candidate or whose run was not approved', () => {
    const state = registry(true);
    const old = applySetTraffic(state, byRun(2, 10), at);
    expect(isRefused(old) && old.refused).toBe(
      'run:churn-run-2 cannot steer traffic of model "churn" to v2: only the candidate takes canary or shadow traffic and the candidate is v3',
    );
    const unapproved = applySetTraffic(state, byRun(3, 10), at);
    expect(isRefused(unapproved) && unapproved.refused).toMatch(
      /cannot steer traffic to model "churn" v3 without approval: its run churn-run-3 has no approve decision/,
    );
    const stranger = applySetTraffic(
      state,
      { ...byRun(3, 10), by: 'mallory', authorisedBy: 'role:promoter', roleMembers: ['grace'] },
      at,
    );
    expect(isRefused(stranger) && stranger.refused).toMatch(/mallory does not hold role promoter/);
    expect(
      state.events.filter((e) => e.type === 'refused').map((e) => e.type === 'refused' && e.action),
    ).toEqual(['traffic', 'traffic', 'traffic']);
    expect(describeRegistry(state).traffic).toMatchObject({ version: null, canaryPercent: 0 });
  });

  it('turning the split off is allowed whatever the candidate is now', () => {
    const state = registry();
    applySetTraffic(state, byRun(2, 25), at);
    expect(applySetTraffic(state, byRun(2, 0), at)).toMatchObject({
      outcome: 'set',
      traffic: { version: null, canaryPercent: 0, shadow: false },
    });
  });

  it('malformed requests are refused before anything is recorded', () => {
    expect(setTrafficRequestProblem('churn', byRun(2, 120))).toBe(
      'run:churn-run-2 asked for a canary share of 120 for model "churn" v2: give a whole percent from 0 to 100',
    );
    expect(setTrafficRequestProblem('churn', { ...byRun(2, 10), reason: ' ' })).toBe(
      'run:churn-run-2 must give a reason to steer traffic of model "churn"',
    );
  });

  it('a registry answer from before steering, or a split for another version, routes nothing to the candidate', () => {
    const state = registry();
    const { traffic: _, ...old } = describeRegistry(state);
    expect(registrySplit(old)).toEqual({ canaryPercent: 0, shadow: false, source: 'registry' });
    const stale = describeRegistry(state);
    stale.traffic = { version: 1, canaryPercent: 30, shadow: true, at, by: 'x', reason: 'r' };
    expect(registrySplit(stale)).toMatchObject({ canaryPercent: 0, shadow: false });
  });
});

describe('deploy stages', () => {
  it('a canary walks its stages in order; without stages, one stage of percent for observe', () => {
    const staged = deploySchema.parse({
      strategy: 'canary',
      stages: [
        { percent: 10, observe: '5m' },
        { percent: 50, observe: '10m' },
        { percent: 100, observe: '10m' },
      ],
    });
    expect(deployStages(staged).map((s) => s.percent)).toEqual([10, 50, 100]);
    expect(deployStages(deploySchema.parse({ strategy: 'canary', percent: 20 }))).toEqual([
      { percent: 20, observe: '15m' },
    ]);
    expect(deployStagesProblem(staged)).toBeUndefined();
  });

  it('stages that do not rise, or stages on a shadow deploy, are refused with the fix', () => {
    const falling = deploySchema.parse({
      strategy: 'canary',
      stages: [
        { percent: 50, observe: '5m' },
        { percent: 10, observe: '5m' },
      ],
    });
    expect(deployStagesProblem(falling)).toBe(
      "stages[1].percent is 10, not more than stages[0]'s 50: each stage must send the candidate more traffic",
    );
    const shadow = deploySchema.parse({ strategy: 'shadow', stages: [{ percent: 10, observe: '5m' }] });
    expect(deployStagesProblem(shadow)).toMatch(/^stages are a canary rollout; strategy "shadow"/);
  });
});
