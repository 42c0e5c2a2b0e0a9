import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import type { ExportManifest } from '../../audit/index.js';
import { followRun, startRun } from '../../client/runs.js';
import { createKey } from '../../lib/keys.js';
import type { ApprovalGateStatus } from '../../pipelines/approval.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { useTestWorker } from '../support/worker.js';
import { approvalPipeline, roles } from './fixtures/approval.js';

/**
 * Issue 15, items 2–3, on a real dev server: under `approval: { signed: true }` a decision counts only
 * with a signature by a key registered before the run started; every refusal is recorded with its
 * reason; the audit export is signed, and a history rewritten together with its manifest fails verify.
 */
const keys: Record<string, string> = {};
const t = useTestWorker(async (config) => {
  await writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles }));
  const dir = join(config.home, 'private');
  for (const identity of ['alice', 'ops-olga']) {
    keys[identity] = (await createKey({ identity, keysFile: config.keys.file, keysDir: dir })).privateKeyFile;
  }
});

const temporalSignal = (workflowId: string, input: string) =>
  promisify(execFile)(inject('temporalCliPath'), [
    'workflow',
    'signal',
    '--address',
    t.config.temporal.address,
    '--workflow-id',
    workflowId,
    '--name',
    'approval',
    '--input',
    input,
  ]);

async function gateWhen(
  handle: WorkflowHandle,
  ready: (gate: ApprovalGateStatus) => boolean,
): Promise<ApprovalGateStatus> {
  let status: DagStatus | undefined;
  for (let i = 0; i < 1200; i++) {
    status = await handle.query<DagStatus>('status').catch(() => undefined);
    const gate = status?.approvals[0];
    if (gate && ready(gate)) return gate;
    if (status && status.state !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the gate never reached the expected state: ${JSON.stringify(status)}`);
}

describe('signed approvals', () => {
  it('refuses unsigned and late-key decisions on every channel, accepts a signed signal, and the signed export catches a rewrite', async () => {
    const handle = await startRun(t.client, t.config, approvalPipeline('signed-gate', { signed: true }), {
      runParams: {},
      startedBy: 'carol',
    });
    const gate = await gateWhen(handle, (g) => g.state === 'awaiting');
    expect(gate.policy.signed).toBe(true);

    // An unsigned approval through the Temporal CLI, as any Temporal client could send it: refused, recorded.
    await temporalSignal(
      handle.workflowId,
      JSON.stringify({ approver: 'alice', decision: 'approve', modelVersion: gate.modelVersion }),
    );
    const afterSignal = await gateWhen(handle, (g) => g.refused.length === 1);
    expect(afterSignal.state).toBe('awaiting');
    expect(afterSignal.refused[0]).toMatchObject({ approver: 'alice', channel: 'signal' });
    expect(afterSignal.refused[0]!.reason).toMatch(
      /^the decision by alice is not signed, and this gate requires signed decisions \(approval\.signed\)/,
    );

    // Unsigned through sluice approve (the update): refused at once, and recorded too.
    const unsigned = await sluice(['approve', handle.workflowId, '--as', 'alice'], {
      ...t.env,
      SLUICE_KEYS_DIR: join(t.config.home, 'no-keys-here'),
    });
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/^sluice: approve refused: the decision by alice is not signed/);

    // A key registered after the run started does not count for it.
    const late = await createKey({
      identity: 'bob',
      keysFile: t.config.keys.file,
      keysDir: join(t.config.home, 'private'),
    });
    const lateTry = await sluice(
      ['approve', handle.workflowId, '--as', 'bob', '--key', late.privateKeyFile],
      t.env,
    );
    expect(lateTry.code).toBe(1);
    expect(lateTry.stderr).toContain(
      `sluice: approve refused: key ${late.key.keyId} was not registered for bob when this run started`,
    );

    // sluice sign prints the signed --input; sent with the Temporal CLI, it passes the gate.
    const signed = await sluice(
      [
        'sign',
        handle.workflowId,
        '--as',
        'alice',
        '--key',
        keys['alice']!,
        '--comment',
        'metrics fine',
        '--json',
      ],
      t.env,
    );
    expect(signed.code).toBe(0);
    const input = JSON.parse(signed.stdout) as { signature: { keyId: string; runId: string } };
    expect(input).toMatchObject({ approver: 'alice', decision: 'approve', modelVersion: gate.modelVersion });
    expect(input.signature.runId).toBe((await handle.describe()).runId);
    await temporalSignal(handle.workflowId, signed.stdout);
    const final = await followRun(handle, () => undefined);
    expect(final.state).toBe('succeeded');
    expect(final.approvals[0]!.decisions).toMatchObject([
      {
        approver: 'alice',
        channel: 'signal',
        comment: 'metrics fine',
        signature: { keyId: input.signature.keyId },
      },
    ]);
    expect(final.approvals[0]!.refused.map((r) => `${r.approver}/${r.channel}`)).toEqual([
      'alice/signal',
      'alice/update',
      'bob/update',
    ]);

    // The audit report shows the refused unsigned signal with its reason.
    const dir = await mkdtemp(join(tmpdir(), 'sluice-signed-'));
    const exportDir = join(dir, 'export');
    const exported = await sluice(
      ['audit', 'export', handle.workflowId, '--out', exportDir, '--sign-key', keys['ops-olga']!],
      t.env,
      120_000,
    );
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/signed with key k-[0-9a-f]{16} in manifest\.sig\.json/);
    const report = await sluice(['audit', 'report', exportDir], t.env);
    expect(report.stdout).toContain(
      'the decision by alice is not signed, and this gate requires signed decisions',
    );

    const verified = await sluice(['audit', 'verify', exportDir], t.env);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(
      /^SIGNED {3}manifest\.json by ops-olga with key k-[0-9a-f]{16} at .*: valid$/m,
    );
    expect(verified.stdout).toMatch(
      /^APPROVAL signed-gate-.* gate approve: alice approve, signed by alice with key /m,
    );

    // Rewrite the history (alice's comment) and its manifest entry together: the file hashes match again,
    // but the manifest's signature and alice's signature no longer do.
    const manifest = JSON.parse(await readFile(join(exportDir, 'manifest.json'), 'utf8')) as ExportManifest;
    const file = manifest.files.find((f) => f.path.startsWith('histories/'))!;
    const history = JSON.parse(await readFile(join(exportDir, file.path), 'utf8')) as {
      events: { workflowExecutionCompletedEventAttributes?: { result: { payloads: { data: string }[] } } }[];
    };
    const completed = history.events.find((e) => e.workflowExecutionCompletedEventAttributes)!;
    const payload = completed.workflowExecutionCompletedEventAttributes!.result.payloads[0]!;
    const result = Buffer.from(payload.data, 'base64')
      .toString('utf8')
      .replaceAll('metrics fine', 'metrics FINE');
    payload.data = Buffer.from(result).toString('base64');
    const rewritten = `${JSON.stringify(history, null, 2)}\n`;
    await writeFile(join(exportDir, file.path), rewritten);
    file.sha256 = createHash('sha256').update(rewritten).digest('hex');
    file.bytes = Buffer.byteLength(rewritten);
    await writeFile(join(exportDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    const tampered = await sluice(['audit', 'verify', exportDir], t.env);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(
      /^INVALID SIGNATURE {2}manifest\.json: manifest\.json hashes to [0-9a-f]{64}, but ops-olga signed/m,
    );
    expect(tampered.stdout).toMatch(/^BAD APPROVAL SIGNATURE signed-gate-.* gate approve: alice approve/m);
    expect(tampered.stderr).toMatch(
      /^sluice: export .* fails verification: invalid signature on manifest\.json .*; approval by alice in signed-gate-/,
    );
  }, 300_000);
});
