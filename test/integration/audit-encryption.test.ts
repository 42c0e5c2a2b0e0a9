import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportManifest } from '../../audit/manifest.js';
import { followRun, startRun } from '../../client/runs.js';
import type { ApprovalGateStatus } from '../../pipelines/approval.js';
import type { SluiceConfig } from '../../lib/config.js';
import { payloadConverter } from '../../client/codec.js';
import type { RunningWorker } from '../../worker/run.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { testConfig, testWorker } from '../support/worker.js';
import { approvalPipeline, roles } from './fixtures/approval.js';

const oldKey = `2026-01:${randomBytes(32).toString('hex')}`;
const newKey = `2026-02:${randomBytes(32).toString('base64')}`;
let config: SluiceConfig;
let env: Record<string, string>;
let worker: RunningWorker;
let client: Client;

beforeAll(async () => {
  ({ config, env } = await testConfig({ SLUICE_PAYLOAD_KEYS: oldKey }));
  await writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles }));
  worker = await testWorker(config);
  const dataConverter = payloadConverter(config.payloadKeys);
  client = new Client({
    connection: await Connection.connect({ address: config.temporal.address }),
    ...(dataConverter ? { dataConverter } : {}),
  });
});

afterAll(async () => {
  await client?.connection.close();
  await worker?.shutdown();
});

/**
 * Every payload encoding in a history file, except search attributes (an index, plain by design) and
 * what Temporal's SDK core writes into its own markers about them — a patch's id (`patch-data`), a local
 * activity's id, type and attempt (`data`) — never a step's input or output (a local step's `result` is
 * still checked).
 */
function encodings(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) encodings(item, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'searchAttributes') continue;
      if (key === 'markerRecordedEventAttributes' && typeof child === 'object' && child !== null) {
        const { details = {} } = child as { details?: Record<string, unknown> };
        const { 'patch-data': _patch, data: _core, ...payloads } = details;
        encodings(payloads, out);
        continue;
      }
      if (key === 'metadata' && typeof child === 'object' && child !== null && 'encoding' in child) {
        out.add(Buffer.from(String((child as { encoding: string }).encoding), 'base64').toString());
      } else encodings(child, out);
    }
  }
  return out;
}

describe('payload encryption: histories at rest hold no plaintext, and the audit tools need the key', () => {
  it('encrypts a run with approvals; export, replay and report work with the key, refuse without it, survive rotation', async () => {
    const handle = await startRun(client, config, approvalPipeline('audit-encrypted', {}), {
      runParams: {},
      startedBy: 'carol',
    });
    let gate: ApprovalGateStatus | undefined;
    for (let i = 0; i < 300 && !gate; i++) {
      const status = await handle.query<DagStatus>('status').catch(() => undefined);
      gate = status?.approvals.find((g) => g.state === 'awaiting');
      if (!gate) await new Promise((r) => setTimeout(r, 100));
    }
    const approved = await sluice(
      ['approve', handle.workflowId, '--as', 'alice', '--comment', 'SECRET-COMMENT-42'],
      env,
    );
    expect(approved.code).toBe(0);
    expect((await followRun(handle, () => undefined)).state).toBe('succeeded');

    const dir = await mkdtemp(join(tmpdir(), 'sluice-audit-enc-'));
    const exportDir = join(dir, 'export');
    const exported = await sluice(
      ['audit', 'export', handle.workflowId, '--out', exportDir, '--json'],
      env,
      120_000,
    );
    expect(exported.code).toBe(0);
    const { manifest } = JSON.parse(exported.stdout) as { manifest: ExportManifest };
    const text = await readFile(join(exportDir, manifest.histories[0]!.file), 'utf8');
    expect([...encodings(JSON.parse(text))]).toEqual(['binary/encrypted']);
    expect(text).not.toContain(Buffer.from('SECRET-COMMENT-42').toString('base64').slice(0, 12));

    const withKey = await sluice(['audit', 'replay', exportDir], env, 120_000);
    expect(withKey.code).toBe(0);
    const withoutKey = { ...env, SLUICE_PAYLOAD_KEYS: '' };
    const refused = await sluice(['audit', 'replay', exportDir], withoutKey, 120_000);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `sluice: ${join(exportDir, manifest.histories[0]!.file)} holds payloads encrypted with key "2026-01", which cannot be read: SLUICE_PAYLOAD_KEYS is not set; set it to include that key\n`,
    );
    const noReport = await sluice(['audit', 'report', exportDir], withoutKey);
    expect(noReport.stderr).toMatch(/^sluice: .* holds payloads encrypted with key "2026-01"/);

    // After rotation the new key encrypts and the old one still decrypts what it wrote.
    const rotated = { ...env, SLUICE_PAYLOAD_KEYS: `${newKey},${oldKey}` };
    expect((await sluice(['audit', 'replay', exportDir], rotated, 120_000)).code).toBe(0);
    const report = await sluice(['audit', 'report', exportDir], rotated);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain('| alice | approved | SECRET-COMMENT-42 |');
    const wrongKey = await sluice(['audit', 'report', exportDir], { ...env, SLUICE_PAYLOAD_KEYS: newKey });
    expect(wrongKey.stderr).toMatch(
      /which SLUICE_PAYLOAD_KEYS \(2026-02\) does not have; set it to include that key\n$/,
    );
  }, 300_000);
});
