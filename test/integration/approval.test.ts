import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import { followRun, startRun } from '../../client/runs.js';
import type { ApprovalGateStatus, ApprovalRequest } from '../../pipelines/approval.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { testWorker, useTestWorker } from '../support/worker.js';
import { approvalPipeline, roles } from './fixtures/approval.js';

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles })),
);

async function gateOf(handle: WorkflowHandle): Promise<ApprovalGateStatus> {
  for (let i = 0; i < 100; i++) {
    const status = await handle.query<DagStatus>('status').catch(() => undefined);
    const gate = status?.approvals.find((g) => g.state === 'awaiting');
    if (gate) return gate;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the run never reached its approval gate');
}

const submit = (handle: WorkflowHandle, request: ApprovalRequest) =>
  handle.executeUpdate('submitApproval', { args: [request] });

describe('approval gates on a real Temporal server', () => {
  it('quorum 2 needs two distinct approvers; each decision records version and metrics digest', async () => {
    const spec = approvalPipeline('approval-quorum', { quorum: 2 });
    const handle = await startRun(t.client, t.config, spec, { runParams: {}, startedBy: 'carol' });
    const gate = await gateOf(handle);
    expect(gate.eligible).toEqual(['alice', 'bob', 'carol', 'olivia']);
    expect(gate.excluded).toEqual(['carol', 'olivia']);
    expect(gate.modelVersion).toMatch(/^[0-9a-f]{16}$/);
    expect((await handle.describe()).searchAttributes['SluiceApproval']).toEqual(['awaiting']);

    const first = await submit(handle, {
      approver: 'alice',
      decision: 'approve',
      modelVersion: gate.modelVersion,
      comment: 'AUC fine',
    });
    expect(first).toMatchObject({
      approver: 'alice',
      modelVersion: gate.modelVersion,
      metricsDigest: gate.metricsDigest,
      channel: 'update',
    });
    const duplicate = await submit(handle, {
      approver: 'alice',
      decision: 'approve',
      modelVersion: gate.modelVersion,
    }).catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((duplicate as WorkflowUpdateFailedError).cause?.message).toMatch(
      /^alice already decided \(approve\) at /,
    );
    expect((await gateOf(handle)).state).toBe('awaiting');

    await submit(handle, { approver: 'bob', decision: 'approve', modelVersion: gate.modelVersion });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('succeeded');
    expect(status.approvals[0]).toMatchObject({ state: 'approved' });
    expect(status.approvals[0]!.decisions.map((d) => d.approver)).toEqual(['alice', 'bob']);
    expect(status.approvals[0]!.refused.map((r) => r.approver)).toEqual(['alice']);
    expect(status.steps.find((s) => s.id === 'summarize')?.state).toBe('succeeded');
    expect((await handle.describe()).searchAttributes['SluiceApproval']).toEqual(['approved']);
  });

  it('refuses self-approval, the owner, a wrong version and an unknown approver — and records each', async () => {
    const handle = await startRun(t.client, t.config, approvalPipeline('approval-refusals', {}), {
      runParams: {},
      startedBy: 'carol',
    });
    const gate = await gateOf(handle);
    const reasons: string[] = [];
    for (const request of [
      { approver: 'carol', decision: 'approve', modelVersion: gate.modelVersion },
      { approver: 'olivia', decision: 'approve', modelVersion: gate.modelVersion },
      { approver: 'alice', decision: 'approve', modelVersion: '0123456789abcdef' },
      { approver: 'mallory', decision: 'approve', modelVersion: gate.modelVersion },
    ] as const) {
      const error = await submit(handle, request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
      reasons.push((error as WorkflowUpdateFailedError).cause?.message ?? '');
    }
    expect(reasons).toEqual([
      'carol started this run and may not approve it (separation of duties)',
      'olivia owns this pipeline and may not approve its models (separation of duties)',
      `alice decided on model version 0123456789abcdef, but this run asks about ${gate.modelVersion}: look at the current candidate and decide again`,
      'mallory is not an approver of this gate: it accepts role:risk (alice, bob, carol, olivia)',
    ]);
    // Refused signals are recorded the same way: separation of duties holds on that channel too.
    for (const approver of ['dave', 'carol', 'olivia']) {
      await handle.signal('approval', { approver, decision: 'approve', modelVersion: gate.modelVersion });
    }
    await new Promise((r) => setTimeout(r, 500));
    const refused = (await gateOf(handle)).refused;
    expect(refused.map((r) => `${r.approver}/${r.channel}`)).toEqual([
      'carol/update',
      'olivia/update',
      'alice/update',
      'mallory/update',
      'dave/signal',
      'carol/signal',
      'olivia/signal',
    ]);
    expect(refused.slice(-2).map((r) => r.reason)).toEqual(reasons.slice(0, 2));

    // A rejection by an eligible approver stops the run, nothing downstream runs.
    await submit(handle, {
      approver: 'bob',
      decision: 'reject',
      modelVersion: gate.modelVersion,
      comment: 'bias on slice X',
    });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('stopped');
    expect(status.stoppedBy).toEqual({
      step: 'approve',
      gate: 'approval',
      passed: false,
      reasons: ['rejected', 'bob rejected: bias on slice X'],
    });
    expect(status.steps.find((s) => s.id === 'summarize')?.state).toBe('skipped');
    expect((await handle.describe()).searchAttributes['SluiceApproval']).toEqual(['rejected']);
  });

  it('expiry rejects the run after a half-time reminder and escalation; a late decision is refused and recorded', async () => {
    const spec = approvalPipeline('approval-expiry', { expiresIn: '4s', escalateTo: ['dave'] });
    const handle = await startRun(t.client, t.config, spec, { runParams: {}, startedBy: 'carol' });
    const gate = await gateOf(handle);
    // With no worker running, the deadline passes; a decision sent meanwhile is durable but late.
    await t.worker.shutdown();
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(gate.deadline) - Date.now() + 500)));
    await handle.signal('approval', {
      approver: 'alice',
      decision: 'approve',
      modelVersion: gate.modelVersion,
    });
    t.worker = await testWorker(t.config);
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('stopped');
    const final = status.approvals[0]!;
    expect(final.state).toBe('expired');
    expect(final.refused).toMatchObject([
      { approver: 'alice', channel: 'signal', reason: `the approval window closed at ${gate.deadline}` },
    ]);
    expect(final.notices.map((n) => `${n.kind}:${n.to.join('+')}`)).toEqual([
      'reminder:alice+bob+carol+olivia',
      'escalation:dave',
      'expired:alice+bob+carol+olivia+dave',
    ]);
    expect(status.stoppedBy?.reasons).toEqual([`expired at ${gate.deadline} with 0 of 1 approvals`]);
    expect((await handle.describe()).searchAttributes['SluiceApproval']).toEqual(['expired']);
  });

  it('an approval signal sent while no worker runs is honoured after the worker restarts', async () => {
    const handle = await startRun(t.client, t.config, approvalPipeline('approval-offline', {}), {
      runParams: {},
      startedBy: 'carol',
    });
    const gate = await gateOf(handle);
    await t.worker.shutdown();
    await handle.signal('approval', {
      approver: 'bob',
      decision: 'approve',
      modelVersion: gate.modelVersion,
      comment: 'ok',
    });
    t.worker = await testWorker(t.config);
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('succeeded');
    expect(status.approvals[0]!.decisions).toMatchObject([
      { approver: 'bob', channel: 'signal', comment: 'ok' },
    ]);
  });

  it('sluice approve and `temporal workflow signal` approve the same way; refusals are one line', async () => {
    const viaCli = await startRun(t.client, t.config, approvalPipeline('approval-cli', { quorum: 2 }), {
      runParams: {},
      startedBy: 'carol',
    });
    const gate = await gateOf(viaCli);

    const self = await sluice(['approve', viaCli.workflowId, '--as', 'carol'], t.env);
    expect(self.code).toBe(1);
    expect(self.stderr).toBe(
      'sluice: approve refused: carol started this run and may not approve it (separation of duties)\n',
    );

    const listed = await sluice(
      ['runs', '--awaiting-approval', '--pipeline', 'approval-cli', '--json'],
      t.env,
    );
    expect(JSON.parse(listed.stdout)).toMatchObject({
      runs: [{ workflowId: viaCli.workflowId, approval: 'awaiting' }],
    });

    const status = await sluice(['status', viaCli.workflowId], t.env);
    expect(status.stdout).toContain(
      `awaiting approval at approve: model version ${gate.modelVersion}, 0 of 2 decisions`,
    );
    expect(status.stdout).toContain('refused carol (approve, update): carol started this run');

    const ok = await sluice(
      ['approve', viaCli.workflowId, '--as', 'alice', '--comment', 'looks right'],
      t.env,
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(
      `recorded: alice approved model version ${gate.modelVersion} (1 of 2 approvals; gate awaiting)\n`,
    );

    // The second approval comes through the official Temporal CLI, as any Temporal client could send it.
    await promisify(execFile)(inject('temporalCliPath'), [
      'workflow',
      'signal',
      '--address',
      t.config.temporal.address,
      '--workflow-id',
      viaCli.workflowId,
      '--name',
      'approval',
      '--input',
      JSON.stringify({
        approver: 'bob',
        decision: 'approve',
        modelVersion: gate.modelVersion,
        comment: 'via temporal',
      }),
    ]);
    const final = await followRun(viaCli, () => undefined);
    expect(final.state).toBe('succeeded');
    expect(final.approvals[0]!.decisions.map((d) => `${d.approver}/${d.channel}`)).toEqual([
      'alice/update',
      'bob/signal',
    ]);

    const finished = await sluice(['approve', viaCli.workflowId, '--as', 'bob'], t.env);
    expect(finished.stderr).toBe(
      `sluice: run ${viaCli.workflowId} is finished (completed): there is nothing left to approve\n`,
    );
    const missing = await sluice(['approve', 'no-such-run', '--as', 'bob'], t.env);
    expect(missing.stderr).toMatch(/^sluice: no run "no-such-run" in namespace default/);
  });
});
