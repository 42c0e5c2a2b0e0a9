import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { promoteModel } from '../../client/registry.js';
import { followRun, startRun } from '../../client/runs.js';
import type { ApprovalGateStatus } from '../../pipelines/approval.js';
import { registryWorkflowId, registryMessages, type RegistryDescription } from '../../pipelines/registry.js';
import type { DagStatus } from '../../workflows/index.js';
import { useTestWorker } from '../support/worker.js';
import { flightsLifecycle, lifecycleRoles } from './fixtures/lifecycle.js';

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles })),
);

const flights = flightsLifecycle;

async function waitForGate(id: string): Promise<ApprovalGateStatus> {
  const handle = t.client.workflow.getHandle(id);
  for (let i = 0; i < 600; i++) {
    const status = await handle.query<DagStatus>('status').catch(() => undefined);
    const gate = status?.approvals.find((g) => g.state === 'awaiting');
    if (gate) return gate;
    if (status && status.state !== 'running') throw new Error(`run ended ${status.state} before its gate`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no approval gate');
}

async function registry(model: string): Promise<RegistryDescription | undefined> {
  try {
    return await t.client.workflow
      .getHandle(registryWorkflowId(model))
      .query<RegistryDescription>(registryMessages.describe);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

const states = (status: DagStatus) => Object.fromEntries(status.steps.map((s) => [s.id, s.state]));

describe('the model lifecycle on a real Temporal server', () => {
  it('ingest → validate → train → evaluate → card → approval → a registered candidate with its lineage', async () => {
    const spec = flights('lifecycle-happy', { model: 'delay-happy' });
    const handle = await startRun(t.client, t.config, spec, { runParams: {}, startedBy: 'dana' });
    const gate = await waitForGate(handle.workflowId);
    expect(gate.subject).toMatchObject({
      blessing: { blessed: true },
      metrics: { auc: { value: expect.any(Number) as unknown } },
    });
    expect(await registry('delay-happy')).toBeUndefined(); // nothing registered before sign-off

    await handle.executeUpdate('submitApproval', {
      args: [{ approver: 'rita', decision: 'approve', modelVersion: gate.modelVersion, comment: 'fine' }],
    });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('succeeded');
    expect(status.gates.map((g) => `${g.gate}:${g.passed}`)).toEqual([
      'validation:true',
      'evaluation:true',
      'approval:true',
    ]);
    const registered = await registry('delay-happy');
    expect(registered?.aliases).toMatchObject({ candidate: 1 });
    expect(registered?.aliases.production ?? null).toBeNull();
    const version = registered?.versions[0] as unknown as Record<string, unknown>;
    expect(JSON.stringify(version)).toContain(handle.workflowId);
    expect(JSON.stringify(version)).toContain('"approver":"rita"');
    expect(JSON.stringify(version)).toContain(gate.modelVersion);
  });

  it('a model that is not blessed stops at the evaluation gate: no card, no approval, nothing registered', async () => {
    const spec = flights('lifecycle-unblessed', {
      model: 'delay-unblessed',
      evaluate: { bless: { auc: { min: 0.99 } } },
    });
    const status = await followRun(
      await startRun(t.client, t.config, spec, { runParams: {} }),
      () => undefined,
    );
    expect(status.state).toBe('stopped');
    expect(status.stoppedBy).toMatchObject({ step: 'evaluate', gate: 'evaluation', passed: false });
    expect(status.stoppedBy?.reasons[0]).toMatch(/^auc 0\.\d+ .*0\.99/);
    expect(states(status)).toMatchObject({
      train: 'succeeded',
      evaluate: 'succeeded',
      card: 'skipped',
      approve: 'skipped',
      register: 'skipped',
    });
    expect(await registry('delay-unblessed')).toBeUndefined();
  });

  it('data that breaks its contract stops at the validation gate: nothing trained, nothing registered', async () => {
    const spec = flights('lifecycle-bad-data', {
      model: 'delay-bad-data',
      contract: { rows: { min: 10_000_000 } },
    });
    const status = await followRun(
      await startRun(t.client, t.config, spec, { runParams: {} }),
      () => undefined,
    );
    expect(status.state).toBe('stopped');
    expect(status.stoppedBy).toMatchObject({ step: 'validate', gate: 'validation' });
    expect(states(status)).toMatchObject({ validate: 'succeeded', train: 'skipped', register: 'skipped' });
    expect(await registry('delay-bad-data')).toBeUndefined();
  });

  it('a hyperparameter search fans trials out as a child workflow and keeps the best by validation loss', async () => {
    const spec = flights('lifecycle-search', {
      model: 'delay-search',
      search: {
        strategy: 'grid',
        space: { learningRate: [0.001, 0.1], l2: [0, 0.01] },
        trials: 4,
        maxParallel: 2,
      },
      evaluate: { bless: { auc: { min: 0.99 } } }, // stop after evaluation: this test is about the search
    });
    const handle = await startRun(t.client, t.config, spec, { runParams: {} });
    const status = await followRun(handle, () => undefined);
    const train = status.steps.find((s) => s.id === 'train')!.output as {
      model: { sha256: string };
      search: {
        trials: { id: string; values: Record<string, number>; state: string; value: number; model: string }[];
        best: string;
        reason: string;
      };
    };
    expect(train.search.trials.map((t) => `${t.id}:${t.state}`)).toEqual([
      'trial-001:succeeded',
      'trial-002:succeeded',
      'trial-003:succeeded',
      'trial-004:succeeded',
    ]);
    const lowest = [...train.search.trials].sort((a, b) => a.value - b.value)[0]!;
    expect(train.search.best).toBe(lowest.id);
    expect(train.model.sha256).toBe(lowest.model);
    expect(train.search.reason).toMatch(new RegExp(`^${lowest.id} has the lowest validationLoss`));
    const child = await t.client.workflow.getHandle(`${handle.workflowId}/train`).describe();
    expect(child.type).toBe('searchWorkflow');
    expect(child.status.name).toBe('COMPLETED');
  });

  it('a retrained candidate is evaluated against the model in production, and the approver sees the comparison', async () => {
    const spec = flights('lifecycle-vs-production', { model: 'delay-vs-prod' });
    const approveWhenAsked = async (id: string) => {
      const gate = await waitForGate(id);
      await t.client.workflow.getHandle(id).executeUpdate('submitApproval', {
        args: [{ approver: 'raj', decision: 'approve', modelVersion: gate.modelVersion }],
      });
      return gate;
    };
    const first = await startRun(t.client, t.config, spec, { runParams: {}, startedBy: 'dana' });
    const firstGate = await approveWhenAsked(first.workflowId);
    expect(firstGate.subject).toMatchObject({ production: null });
    await followRun(first, () => undefined);
    await promoteModel(t.client, 'delay-vs-prod', {
      version: 1,
      by: 'dana',
      reason: 'first model',
      authorisedBy: 'approved-run',
      approvedRun: first.workflowId,
    });

    const second = await startRun(t.client, t.config, spec, { runParams: {}, startedBy: 'dana' });
    const gate = await approveWhenAsked(second.workflowId);
    expect(gate.subject).toMatchObject({
      production: { model: { sha256: expect.any(String) as unknown }, delta: expect.any(Object) as unknown },
    });
    const status = await followRun(second, () => undefined);
    expect(status.steps.find((s) => s.id === 'production')?.output).toMatchObject({ productionVersion: 1 });
    expect((await registry('delay-vs-prod'))?.aliases).toMatchObject({ production: 1, candidate: 2 });
  });
});
