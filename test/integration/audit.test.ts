import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import type { ExportManifest } from '../../audit/manifest.js';
import type { ReplayOutcome } from '../../audit/replay-histories.js';
import type { AuditReport } from '../../audit/report-types.js';
import { followRun, startRun } from '../../client/runs.js';
import type { ApprovalGateStatus } from '../../pipelines/approval.js';
import { resolveRunParams } from '../../pipelines/params.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { useTestWorker } from '../support/worker.js';
import { flightsLifecycle, lifecycleRoles } from './fixtures/lifecycle.js';

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles })),
);

async function waitForGate(id: string): Promise<ApprovalGateStatus> {
  const handle = t.client.workflow.getHandle(id);
  for (let i = 0; i < 600; i++) {
    const status = await handle.query<DagStatus>('status').catch(() => undefined);
    const gate = status?.approvals.find((g) => g.state === 'awaiting');
    if (gate) return gate;
    if (status && status.state !== 'running')
      throw new Error(
        `run ended ${status.state} before its gate: ${JSON.stringify(status.steps.map((s) => [s.id, s.state, s.error]))}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no approval gate');
}

describe('audit a lifecycle run with approvals on a real Temporal server', () => {
  it('exports it (Sluice and Temporal CLI), replays both, explains it, and catches one edited byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-audit-'));
    const model = `audit-${Date.now()}`;
    const spec = flightsLifecycle('audit-lifecycle', { model });
    const handle = await startRun(t.client, t.config, spec, {
      runParams: resolveRunParams(spec, {}),
      startedBy: 'alice',
    });
    const run = handle.workflowId;
    const gate = await waitForGate(run);

    // A refused attempt (alice started the run), then an eligible approver signs off.
    const self = await sluice(['approve', run, '--as', 'alice', '--comment', 'mine, looks fine'], t.env);
    expect(self.stderr).toBe(
      'sluice: approve refused: alice started this run and may not approve it (separation of duties)\n',
    );
    const ok = await sluice(['approve', run, '--as', 'rita', '--comment', 'AUC above the bar'], t.env);
    expect(ok.code).toBe(0);
    expect((await followRun(handle, () => undefined)).state).toBe('succeeded');

    // Export with Sluice: the run and the registry it wrote to, each with its sha256 in the manifest.
    const exportDir = join(dir, 'export');
    const exported = await sluice(['audit', 'export', run, '--out', exportDir, '--json'], t.env, 120_000);
    expect(exported.stderr).toBe('');
    const { manifest } = JSON.parse(exported.stdout) as { manifest: ExportManifest };
    expect(manifest.histories.map((h) => [h.workflowId, h.role, h.workflowType])).toEqual([
      [run, 'run', 'dagWorkflow'],
      [`registry/${model}`, 'registry', 'registryWorkflow'],
    ]);
    expect(manifest.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    expect(manifest.workflowBundleSha256).toMatch(/^[0-9a-f]{64}$/);

    // Export with the Temporal CLI too, as any Temporal user would.
    const cliFile = join(dir, 'temporal-cli.json');
    const { stdout } = await promisify(execFile)(
      inject('temporalCliPath'),
      ['workflow', 'show', '--address', t.config.temporal.address, '--workflow-id', run, '--output', 'json'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    await writeFile(cliFile, stdout);

    // Both replay cleanly against the current workflow code.
    const replayed = await sluice(['audit', 'replay', exportDir, cliFile, '--json'], t.env, 120_000);
    expect(replayed.code).toBe(0);
    const replay = JSON.parse(replayed.stdout) as { ok: boolean; histories: ReplayOutcome[] };
    expect(replay.ok).toBe(true);
    expect(replay.histories.map((h) => [h.workflowId, h.ok])).toEqual([
      [run, true],
      [`registry/${model}`, true],
      [run, true],
    ]);

    // The report, from the export alone: who started it, each step, the approval and the refusal.
    const reportFile = join(dir, 'report.md');
    const wrote = await sluice(['audit', 'report', exportDir, '--out', reportFile], t.env);
    expect(wrote.code).toBe(0);
    const md = await readFile(reportFile, 'utf8');
    expect(md).toContain('| **Who started it** | alice, by hand (trigger: manual) |');
    for (const step of ['ingest', 'stats', 'validate', 'train', 'evaluate', 'card', 'approve', 'register']) {
      expect(md).toMatch(new RegExp(`^\\| ${step} \\| .* \\| succeeded \\|`, 'm'));
    }
    expect(md).toMatch(
      new RegExp(`\\| rita \\| approved \\| AUC above the bar \\| \`${gate.modelVersion}\` \\|`),
    );
    expect(md).toMatch(
      /\| alice \| approve \| `[0-9a-f]{16}` \| update \| \*\*alice started this run and may not approve it \(separation of duties\)\*\* \|/,
    );
    expect(md).toContain(`Registry registry/${model}`);
    expect(md).toContain('Verified against its manifest');

    const json = await sluice(['audit', 'report', exportDir, '--json'], t.env);
    const report = JSON.parse(json.stdout) as AuditReport;
    expect(report.runs[0]).toMatchObject({
      workflowId: run,
      state: 'succeeded',
      start: { by: 'alice', trigger: 'manual' },
      registrations: [{ model, version: 1, created: true }],
    });
    expect(report.runs[0]?.artifacts.length).toBeGreaterThan(5);
    expect(report.runs[0]?.artifacts.every((a) => a.present === true)).toBe(true);
    const html = await sluice(['audit', 'report', run, '--format', 'html'], t.env);
    expect(html.stdout).toMatch(/^<!doctype html>/);
    expect(html.stdout).toContain('alice started this run and may not approve it (separation of duties)');

    // One edited byte anywhere in the export fails verify, and replay refuses the export.
    const target = join(exportDir, manifest.histories[0]!.file);
    const bytes = await readFile(target);
    const at = bytes.indexOf('"eventId": "7"') + 12;
    bytes[at] = '8'.charCodeAt(0);
    await writeFile(target, bytes);
    const verify = await sluice(['audit', 'verify', exportDir], t.env);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toBe(
      `sluice: export ${exportDir} fails verification: 1 changed (${manifest.histories[0]!.file})\n`,
    );
    const refused = await sluice(['audit', 'replay', exportDir], t.env, 120_000);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^sluice: export .* does not match its manifest \(1 changed/);
  }, 300_000);
});
