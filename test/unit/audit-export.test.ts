import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CollectedHistory } from '../../audit/collect-histories.js';
import { registeredModels } from '../../audit/collect-histories.js';
import { historyFacts } from '../../audit/history-facts.js';
import { parseHistory } from '../../audit/history.js';
import { describeProblems, readManifest, verifyExport } from '../../audit/manifest.js';
import { readAuditInputs } from '../../audit/read-inputs.js';
import { writeExport, type ExportHeader } from '../../audit/write-export.js';

const dir = fileURLToPath(new URL('../histories/', import.meta.url));

async function collected(file: string, role: CollectedHistory['role']): Promise<CollectedHistory> {
  const loaded = parseHistory(await readFile(`${dir}${file}`, 'utf8'), file);
  return { loaded, facts: historyFacts(loaded), role, relatedTo: role === 'run' ? null : 'x' };
}

const header: ExportHeader = {
  sluiceVersion: '0.1.0',
  workflowBundleSha256: 'a'.repeat(64),
  exportedAt: '2026-11-24T00:00:00.000Z',
  exportedBy: 'auditor',
  temporal: { address: '127.0.0.1:7233', namespace: 'default', serverVersion: '1.29.1' },
  selection: { runs: ['replay-lifecycle-search'] },
};

let root: string;
let out: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-audit-export-'));
  out = join(root, 'export');
});

async function exportSearchRun(): Promise<void> {
  await writeExport(
    out,
    [
      await collected('lifecycle-search.json', 'run'),
      await collected('lifecycle-search-trials.json', 'child'),
    ],
    header,
    false,
  );
}

describe('an export directory and its manifest', () => {
  it('holds each history in Temporal JSON under its workflow id, listed with sha256 and size', async () => {
    await exportSearchRun();
    const manifest = await readManifest(out);
    expect(manifest.histories).toMatchObject([
      { file: 'histories/replay-lifecycle-search.json', role: 'run', workflowType: 'dagWorkflow' },
      {
        file: 'histories/replay-lifecycle-search%2Ftrain.json',
        role: 'child',
        workflowType: 'searchWorkflow',
      },
    ]);
    expect(manifest.files.map((f) => f.path)).toEqual(manifest.histories.map((h) => h.file));
    const written = await readFile(join(out, 'histories', 'replay-lifecycle-search.json'), 'utf8');
    const original = await readFile(`${dir}lifecycle-search.json`, 'utf8');
    expect(JSON.parse(written)).toEqual(JSON.parse(original));
    expect(await verifyExport(out)).toMatchObject({ ok: true, changed: [], missing: [], extra: [] });
  });

  it('verify names a file whose one byte changed, a missing file and an added one', async () => {
    await exportSearchRun();
    const child = join(out, 'histories', 'replay-lifecycle-search%2Ftrain.json');
    const bytes = await readFile(child);
    const at = bytes.indexOf('"eventId": "5"') + 13;
    bytes[at] = '6'.charCodeAt(0);
    await writeFile(child, bytes);
    await rm(join(out, 'histories', 'replay-lifecycle-search.json'));
    await mkdir(join(out, 'notes'));
    await appendFile(join(out, 'notes', 'x.txt'), 'hi');
    const result = await verifyExport(out);
    expect(result.ok).toBe(false);
    expect(describeProblems(result)).toBe(
      '1 changed (histories/replay-lifecycle-search%2Ftrain.json); 1 missing (histories/replay-lifecycle-search.json); 1 not in the manifest (notes/x.txt)',
    );
    expect(result.changed[0]?.actual.bytes).toBe(result.changed[0]?.expected.bytes);
  });

  it('refuses a non-empty --out unless forced, and then replaces it whole', async () => {
    await mkdir(out);
    await writeFile(join(out, 'old.txt'), 'keep me');
    await expect(exportSearchRun()).rejects.toThrow(
      /is not empty \(1 entries\): choose a new directory, or pass --force/,
    );
    expect(await readFile(join(out, 'old.txt'), 'utf8')).toBe('keep me');
    await writeExport(out, [await collected('first-dag-succeeded.json', 'run')], header, true);
    expect((await verifyExport(out)).ok).toBe(true);
  });

  it('a directory without a manifest is not an export', async () => {
    await mkdir(out);
    await expect(verifyExport(out)).rejects.toThrow(
      `${out} is not a Sluice audit export: it has no manifest.json`,
    );
    await writeFile(join(out, 'manifest.json'), '{"format": "other"}');
    await expect(verifyExport(out)).rejects.toThrow(
      /manifest\.json is not a Sluice export manifest: format:/,
    );
  });

  it('finds the registries a run wrote to from its registerModel step output', async () => {
    expect(registeredModels([await collected('lifecycle-approved.json', 'run')])).toEqual([
      'replay-lifecycle',
    ]);
    expect(registeredModels([await collected('first-dag-succeeded.json', 'run')])).toEqual([]);
  });

  it('replay and report read an export only while it matches its manifest', async () => {
    await exportSearchRun();
    const inputs = await readAuditInputs([out]);
    expect(inputs.histories.map((h) => [h.workflowId, h.exported?.role])).toEqual([
      ['replay-lifecycle-search', 'run'],
      ['replay-lifecycle-search/train', 'child'],
    ]);
    await appendFile(join(out, 'histories', 'replay-lifecycle-search.json'), ' ');
    await expect(readAuditInputs([out])).rejects.toThrow(
      `export ${out} does not match its manifest (1 changed (histories/replay-lifecycle-search.json)): its histories are not evidence`,
    );
  });

  it('a plain directory of histories: other JSON documents are skipped and listed', async () => {
    const inputs = await readAuditInputs([dir]);
    expect(inputs.skipped.map((s) => s.source)).toEqual([join(dir, 'workflow-ids.json')]);
    expect(inputs.histories.length).toBeGreaterThanOrEqual(12);
    await expect(readAuditInputs([join(root, 'nothing-here')])).rejects.toThrow(
      /nothing-here does not exist: give an export directory or a history file$/,
    );
  });
});
