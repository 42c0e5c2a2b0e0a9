import { describe, expect, it } from 'vitest';
import type {
  PromoteInput,
  RegisterVersionInput,
  RegistryState,
  RollbackInput,
} from '../../pipelines/registry.js';
import { registryWorkflowId } from '../../pipelines/registry.js';
import {
  applyPromote,
  applyRegister,
  applyRollback,
  approvalShortfall,
  emptyRegistry,
  isRefused,
  productionStack,
  promoteRequestProblem,
  registerProblem,
  rollbackRequestProblem,
} from '../../pipelines/registry-rules.js';

const at = '2026-11-24T10:00:00.000Z';
const sha = (n: number) => n.toString(16).padStart(64, '0');

function lineage(n: number, approved = false): RegisterVersionInput {
  return {
    requestId: `run-${n}/step`,
    runId: `run-id-${n}`,
    workflowId: `churn-run-${n}`,
    pipeline: 'churn',
    dataSha256s: [sha(1000 + n)],
    model: { uri: `file:///m/${n}.json`, sha256: sha(n), kind: 'model', format: 'json', bytes: 100 + n },
    metrics: { auc: { value: 0.7 + n / 100, lo: null, hi: null } },
    approvals: approved ? [{ approver: 'risk-ann', decision: 'approve', at, comment: null }] : [],
    registeredBy: `run:churn-run-${n}`,
  };
}

const grace = { by: 'grace', authorisedBy: 'role:promoter' as const, roleMembers: ['grace'] };

function promote(state: RegistryState, request: PromoteInput) {
  const problem = promoteRequestProblem(state.model, request);
  if (problem) throw new Error(problem);
  return applyPromote(state, request, at);
}

function rollback(state: RegistryState, request: RollbackInput) {
  const problem = rollbackRequestProblem(state.model, request);
  if (problem) throw new Error(problem);
  return applyRollback(state, request, at);
}

/** A registry with versions 1..n registered (the first `approved` of them from approved runs). */
function registry(n: number, approved = 0): RegistryState {
  const state = emptyRegistry('churn');
  for (let i = 1; i <= n; i++) applyRegister(state, lineage(i, i <= approved), at);
  return state;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

describe('registry rules: registration', () => {
  it('numbers versions from 1, makes the newest the candidate, and is idempotent by request id', () => {
    const state = emptyRegistry('churn');
    expect(applyRegister(state, lineage(1), at)).toEqual({ version: 1, created: true });
    expect(applyRegister(state, lineage(2), at)).toEqual({ version: 2, created: true });
    expect(applyRegister(state, lineage(1), at)).toEqual({ version: 1, created: false });
    expect(state.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(state.aliases).toEqual({ candidate: 2, production: null, previous: null });
    expect(state.events.map((e) => `${e.seq}:${e.type}`)).toEqual(['1:registered', '2:registered']);
    expect(state.versions[0]).toMatchObject({
      registeredAt: at,
      workflowId: 'churn-run-1',
      dataSha256s: [sha(1001)],
    });
    expect(registryWorkflowId('churn')).toBe('registry/churn');
  });

  it('the validator refuses malformed lineage and a reused request id with another model, without changing state', () => {
    const state = deepFreeze(registry(1));
    expect(registerProblem(state, lineage(1))).toBeUndefined(); // a retry is fine
    expect(registerProblem(state, { ...lineage(1), model: { ...lineage(1).model, sha256: sha(9) } })).toBe(
      `request run-1/step already registered model "churn" v1 with model ${sha(1).slice(0, 12)}, not ${sha(9).slice(0, 12)}: a different model needs its own request id`,
    );
    expect(registerProblem(state, { ...lineage(2), runId: '' })).toBe(
      'registering a version of model "churn" needs runId (a non-empty string)',
    );
    expect(registerProblem(state, { ...lineage(2), dataSha256s: ['abc'] })).toMatch(/needs dataSha256s/);
    expect(registerProblem(state, { ...lineage(2), metrics: { curve: 'x'.repeat(20_000) } })).toMatch(
      /metrics are 200\d\d characters of JSON, more than 16384: keep headline figures/,
    );
    expect(
      registerProblem(state, {
        ...lineage(2),
        approvals: [{ approver: 'ann', decision: 'maybe' as 'approve', at }],
      }),
    ).toMatch(/approvals\[0\] needs approver, decision \(approve\|reject\) and at/);
  });
});

describe('registry rules: promotion and rollback', () => {
  it('promotes through an approved run, then by a promoter; old production becomes previous', () => {
    const state = registry(2, 1);
    const first = promote(state, {
      version: 1,
      by: 'deployer',
      reason: 'approved',
      authorisedBy: 'approved-run',
    });
    expect(first).toEqual({
      outcome: 'promoted',
      version: 1,
      aliases: { candidate: 2, production: 1, previous: null },
    });
    const second = promote(state, { version: 2, reason: 'better auc', ...grace });
    expect(second).toEqual({
      outcome: 'promoted',
      version: 2,
      aliases: { candidate: null, production: 2, previous: 1 },
    });
    expect(state.events.at(-1)).toMatchObject({
      type: 'promoted',
      by: 'grace',
      version: 2,
      from: 1,
      reason: 'better auc',
      authorisedBy: 'role:promoter',
      approvedRun: null,
    });
    expect(state.events.find((e) => e.type === 'promoted')).toMatchObject({ approvedRun: 'churn-run-1' });
  });

  it('promoting the version already in production is a no-op result, recorded nowhere', () => {
    const state = registry(1, 1);
    promote(state, { version: 1, by: 'deployer', reason: 'go', authorisedBy: 'approved-run' });
    const events = state.events.length;
    expect(promote(state, { version: 1, reason: 'again', ...grace })).toMatchObject({
      outcome: 'unchanged',
      version: 1,
    });
    expect(state.events).toHaveLength(events);
  });

  it('refuses, and records, promotion of an unknown version, without approval, or by a non-member', () => {
    const state = registry(2, 1);
    const unknown = promote(state, { version: 7, reason: 'x', ...grace });
    expect(unknown).toEqual({
      refused:
        'grace cannot promote model "churn" v7: there is no such version (versions 1-2); pick one from `sluice models churn`',
    });
    const unapproved = promote(state, { version: 2, by: 'bob', reason: 'x', authorisedBy: 'approved-run' });
    expect(unapproved).toEqual({
      refused:
        'bob cannot promote model "churn" v2 without approval: its run churn-run-2 has no approve decision; get the run approved, or have a holder of role promoter promote it',
    });
    const wrongRun = promote(state, {
      version: 1,
      by: 'bob',
      reason: 'x',
      authorisedBy: 'approved-run',
      approvedRun: 'churn-run-2',
    });
    expect(isRefused(wrongRun) && wrongRun.refused).toBe(
      'bob cannot promote model "churn" v1 on the strength of run churn-run-2: v1 came from run churn-run-1',
    );
    const outsider = promote(state, {
      version: 2,
      by: 'mallory',
      reason: 'x',
      authorisedBy: 'role:promoter',
      roleMembers: ['grace', 'linus'],
    });
    expect(isRefused(outsider) && outsider.refused).toBe(
      'mallory cannot promote model "churn" v2: mallory does not hold role promoter (held by grace, linus); ask one of them, or add mallory to "promoter" in the roles file',
    );
    const otherRole = promote(state, {
      version: 2,
      by: 'mallory',
      reason: 'x',
      authorisedBy: 'role:intern',
      roleMembers: ['mallory'],
    });
    expect(isRefused(otherRole) && otherRole.refused).toMatch(/as role:intern: only role promoter may/);
    expect(state.aliases.production).toBeNull();
    expect(state.events.filter((e) => e.type === 'refused').map((e) => [e.by, e.version])).toEqual([
      ['grace', 7],
      ['bob', 2],
      ['bob', 1],
      ['mallory', 2],
      ['mallory', 2],
    ]);
  });

  it('a rejection in the run vetoes approved-run promotion', () => {
    const state = registry(1);
    applyRegister(
      state,
      {
        ...lineage(2),
        approvals: [
          { approver: 'ann', decision: 'approve', at },
          { approver: 'ben', decision: 'reject', at },
        ],
      },
      at,
    );
    expect(approvalShortfall(state.versions[1]!)).toBe(`was rejected by ben at ${at}`);
    expect(promote(state, { version: 2, by: 'x', reason: 'y', authorisedBy: 'approved-run' })).toMatchObject({
      refused: expect.stringMatching(/without approval: its run churn-run-2 was rejected by ben/) as unknown,
    });
  });

  it('rolls back along the event log: production := previous, previous := the one before', () => {
    const state = registry(4);
    for (const version of [1, 2, 3]) promote(state, { version, reason: `ship ${version}`, ...grace });
    expect(state.aliases).toMatchObject({ production: 3, previous: 2 });
    expect(rollback(state, { reason: 'latency', ...grace })).toEqual({
      from: 3,
      version: 2,
      aliases: { candidate: 4, production: 2, previous: 1 },
    });
    promote(state, { version: 4, reason: 'ship 4', ...grace });
    expect(state.aliases).toMatchObject({ production: 4, previous: 2, candidate: null });
    rollback(state, { reason: 'bad 4', ...grace });
    expect(state.aliases).toMatchObject({ production: 2, previous: 1 });
    rollback(state, { reason: 'bad 2', ...grace });
    expect(state.aliases).toMatchObject({ production: 1, previous: null });
    expect(productionStack(state.events)).toEqual([1]);
    expect(rollback(state, { reason: 'again', ...grace })).toEqual({
      refused:
        'grace cannot roll back model "churn": it has no previous production version (only v1 has been in production); promote a version instead',
    });
    expect(state.events.at(-1)).toMatchObject({
      type: 'refused',
      action: 'rollback',
      version: 1,
      reason: 'again',
    });
  });

  it('refuses a rollback by someone without the role, or of a model never in production', () => {
    const state = registry(1);
    expect(rollback(state, { reason: 'x', ...grace })).toMatchObject({
      refused: expect.stringMatching(
        /no previous production version \(nothing is in production\)/,
      ) as unknown,
    });
    expect(
      rollback(state, { by: 'eve', reason: 'x', authorisedBy: 'role:promoter', roleMembers: [] }),
    ).toEqual({
      refused:
        'eve cannot roll back model "churn" to its previous version: eve does not hold role promoter and no one does; add eve to "promoter" in the roles file',
    });
  });

  it('validators refuse malformed requests with the fix and never change state', () => {
    const state = deepFreeze(registry(1));
    expect(
      promoteRequestProblem('churn', { version: 1, by: '', reason: 'x', authorisedBy: 'approved-run' }),
    ).toBe('to promote model "churn", say who you are (by)');
    expect(
      promoteRequestProblem('churn', { version: 1, by: 'ann', reason: ' ', authorisedBy: 'approved-run' }),
    ).toBe('ann must give a reason to promote model "churn"');
    expect(
      promoteRequestProblem('churn', { version: 1.5, by: 'ann', reason: 'x', authorisedBy: 'approved-run' }),
    ).toBe('ann asked to promote model "churn" version 1.5: a version is a whole number from 1');
    expect(
      promoteRequestProblem('churn', {
        version: 1,
        by: 'ann',
        reason: 'x',
        authorisedBy: 'boss' as 'approved-run',
      }),
    ).toMatch(
      /must say what authorises them to promote model "churn": approved-run or role:<name>, got "boss"/,
    );
    expect(
      promoteRequestProblem('churn', { version: 1, by: 'ann', reason: 'x', authorisedBy: 'role:promoter' }),
    ).toMatch(/without its members from configuration: send roleMembers/);
    expect(
      rollbackRequestProblem('churn', {
        by: 'ann',
        reason: 'x',
        authorisedBy: 'approved-run' as 'role:promoter',
        roleMembers: [],
      }),
    ).toBe('ann cannot roll back model "churn" as approved-run: a rollback needs role promoter');
    expect(state.events).toHaveLength(1);
  });
});
