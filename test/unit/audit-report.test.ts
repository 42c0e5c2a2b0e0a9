import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildAuditReport, markArtifacts } from '../../audit/audit-report.js';
import { parseHistory } from '../../audit/history.js';
import { renderHtml } from '../../audit/render-html.js';
import { renderMarkdown } from '../../audit/render-markdown.js';
import { reportBlocks } from '../../audit/report-document.js';
import type { AuditReport } from '../../audit/report-types.js';

const dir = fileURLToPath(new URL('../histories/', import.meta.url));
const context = { generatedAt: '2026-11-24T12:00:00.000Z', generatedBy: 'Sluice test', export: null };

async function report(
  files: string[],
  edit?: (json: { events: Record<string, unknown>[] }) => void,
): Promise<AuditReport> {
  const sources = await Promise.all(
    files.map(async (file) => {
      const json = JSON.parse(await readFile(`${dir}${file}`, 'utf8')) as {
        events: Record<string, unknown>[];
      };
      edit?.(json);
      return { source: file, loaded: parseHistory(JSON.stringify(json), file), exported: null, sha256: null };
    }),
  );
  return buildAuditReport(sources, context);
}

describe('the report of an approved lifecycle run, from its history alone', async () => {
  const r = await report(['lifecycle-approved.json']);
  const run = r.runs[0]!;

  it('says who started it, how, and with what', () => {
    expect(run).toMatchObject({
      workflowId: 'replay-lifecycle-approved',
      pipeline: 'replay-lifecycle',
      owner: 'data-eng',
      state: 'succeeded',
      summary: 'Every step ran and every gate passed.',
      start: { by: 'recorder', trigger: 'manual', how: 'by hand', roles: { risk: ['rita', 'raj'] } },
    });
    expect(run.start.client).toMatch(/^\d+@/);
    expect(run.durationMs).toBeGreaterThan(0);
  });

  it('lists every step with its outcome, attempts, timings and cache use', () => {
    expect(
      run.steps.map((s) => `${s.id}:${s.kind}:${s.state}:${s.attempts ?? '-'}:${s.cache ?? '-'}`),
    ).toEqual([
      'ingest:ingestDataset:succeeded:1:-',
      'stats:computeStatistics:succeeded:1:miss',
      'validate:validateDataset:succeeded:1:miss',
      'train:trainModel:succeeded:1:miss',
      'evaluate:evaluateModel:succeeded:1:miss',
      'card:renderModelCard:succeeded:1:-',
      'approve:approval:succeeded:-:-',
      'register:registerModel:succeeded:1:-',
    ]);
    expect(run.steps.every((s) => s.startedAt && s.durationMs !== null)).toBe(true);
  });

  it('traces the data by content hash, with the contract and its validation', () => {
    expect(run.data.datasets.map((d) => d.what)).toEqual([
      'source file',
      expect.stringMatching(/^snapshot \(Parquet\), after: select/),
    ]);
    expect(run.data.datasets[1]).toMatchObject({ rows: 30141, columns: 5 });
    expect(run.data.datasets[1]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(run.data.contracts[0]?.rules).toEqual([
      { column: 'delay', rules: 'type integer; no nulls' },
      { column: '(dataset)', rules: 'min 10000 rows' },
    ]);
    expect(run.data.validations[0]).toMatchObject({ passed: true, errors: 0, checks: 4 });
  });

  it('names the model, its seed and hyperparameters, and its evaluation with intervals', () => {
    expect(run.models[0]).toMatchObject({
      step: 'train',
      task: 'binary',
      seed: 1,
      hyperparameters: { model: 'logistic' },
    });
    const auc = run.evaluations[0]?.metrics.find((m) => m.name === 'auc');
    expect(auc?.lo).toBeLessThan(auc?.value ?? 0);
    expect(run.evaluations[0]).toMatchObject({
      blessed: true,
      reasons: [{ check: 'auc min', passed: true }],
    });
  });

  it('records who approved, and the refused self-approval with its reason', () => {
    expect(run.approvals[0]).toMatchObject({
      step: 'approve',
      state: 'approved',
      eligible: ['raj', 'rita'],
      excluded: ['recorder', 'data-eng'],
      decisions: [{ approver: 'rita', decision: 'approve', comment: 'metrics fine', channel: 'signal' }],
      refused: [
        {
          approver: 'recorder',
          reason: 'recorder started this run and may not approve it (separation of duties)',
        },
      ],
    });
    expect(run.messages.map((m) => `${m.name}/${m.actor}: ${m.outcome}`)).toEqual([
      'approval/recorder: refused: recorder started this run and may not approve it (separation of duties)',
      'approval/rita: accepted',
    ]);
    expect(run.registrations).toMatchObject([{ model: 'replay-lifecycle', version: 1, created: true }]);
  });

  it('lists the artifacts once each, and marks which the store still holds', () => {
    const model = run.models[0]!.sha256;
    expect(run.artifacts.filter((a) => a.sha256 === model)).toHaveLength(1);
    expect(run.artifacts.every((a) => a.present === null)).toBe(true);
    const marked = markArtifacts(r, new Map([[model, true]])).runs[0]!.artifacts;
    expect(marked.find((a) => a.sha256 === model)?.present).toBe(true);
    expect(marked.filter((a) => a.present === false).length).toBe(marked.length - 1);
  });

  it('reads as Markdown and HTML with the same facts: who decided what, in UTC', () => {
    const md = renderMarkdown(reportBlocks(r));
    expect(md).toContain('| **Who started it** | recorder, by hand (trigger: manual) |');
    expect(md).toMatch(/\| 2026-11-24 \d\d:\d\d:\d\d UTC \| rita \| approved \| metrics fine \|/);
    expect(md).toContain('**recorder started this run and may not approve it (separation of duties)**');
    const html = renderHtml(reportBlocks(r));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('recorder started this run and may not approve it (separation of duties)');
    expect(html).not.toMatch(/<script/);
  });
});

describe('other outcomes', () => {
  it('a rejected run: stopped at the approval gate, cached steps reused from the earlier run', async () => {
    const run = (await report(['lifecycle-rejected.json'])).runs[0]!;
    expect(run.state).toBe('stopped');
    expect(run.stoppedBy).toEqual({
      step: 'approve',
      gate: 'approval',
      passed: false,
      reasons: ['rejected', 'raj rejected: needs a fairness review'],
    });
    expect(run.steps.find((s) => s.id === 'train')).toMatchObject({
      cache: 'hit',
      cacheFrom: 'replay-lifecycle-approved',
    });
    expect(run.steps.find((s) => s.id === 'register')?.state).toBe('skipped');
  });

  it('an expired gate: the reminder, the escalation and the expiry notice', async () => {
    const gate = (await report(['lifecycle-expired.json'])).runs[0]!.approvals[0]!;
    expect(gate.state).toBe('expired');
    expect(gate.notices.map((n) => `${n.kind}:${n.to.join('+')}`)).toEqual([
      'reminder:raj+rita',
      'escalation:head-of-risk',
      'expired:raj+rita+head-of-risk',
    ]);
  });

  it('a failed run: the failing step, its attempt and the cause', async () => {
    const run = (await report(['first-dag-failed-missing-source.json'])).runs[0]!;
    expect(run.state).toBe('failed');
    expect(run.summary).toMatch(
      /^The run failed: step "profile" failed: source no\/such\/file\.csv does not exist/,
    );
    expect(run.steps[0]?.failures[0]).toMatchObject({ attempt: 1, type: 'InvalidInputError' });
    expect(run.steps[1]?.state).toBe('skipped');
  });

  it('a search: the trials and the chosen one, and the child workflow as related evidence', async () => {
    const r = await report(['lifecycle-search.json', 'lifecycle-search-trials.json']);
    expect(r.runs[0]?.models[0]?.search).toMatchObject({
      best: 'trial-001',
      trials: [{ id: 'trial-001' }, { id: 'trial-002' }],
    });
    expect(r.related[0]).toMatchObject({
      workflowType: 'searchWorkflow',
      role: 'child',
      relatedTo: 'replay-lifecycle-search',
    });
    expect(r.related[0]?.activities.map((a) => a.step)).toEqual(['train/trial-001', 'train/trial-002']);
    expect(renderMarkdown(reportBlocks(r))).toContain('### Child workflow replay-lifecycle-search/train');
  });

  it('a registry: every update with who sent it and each refusal with its reason', async () => {
    const related = (await report(['registry-refusals.json'])).related[0]!;
    expect(related.workflowType).toBe('registryWorkflow');
    expect(related.messages.length).toBeGreaterThan(1);
    expect(related.messages.some((m) => m.outcome.startsWith('refused: '))).toBe(true);
    expect(related.messages.every((m) => m.sender !== '')).toBe(true);
  });

  it('a run still open when its history was taken: steps from their activities, signals not yet decided', async () => {
    // Cut the approved run just after its approval signals arrived (before the workflow task deciding them).
    const run = (
      await report(['lifecycle-approved.json'], (json) => {
        const cut = json.events.findIndex(
          (e, i) => i > 62 && e['eventType'] === 'EVENT_TYPE_WORKFLOW_TASK_STARTED',
        );
        json.events = json.events.slice(0, cut + 1);
      })
    ).runs[0]!;
    expect(run.state).toBe('running');
    expect(run.notes[0]).toMatch(/still open when its history was taken/);
    expect(run.steps.find((s) => s.id === 'train')).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(run.steps.find((s) => s.id === 'register')?.state).toBe('pending');
    expect(run.messages.map((m) => m.outcome)).toEqual([
      'received (recorded when the run ends)',
      'received (recorded when the run ends)',
    ]);
    expect(run.models[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the HTML never turns recorded text into markup', () => {
  it('escapes comments and reasons', () => {
    const html = renderHtml([
      { kind: 'heading', level: 1, text: 'x' },
      { kind: 'table', head: ['Comment'], rows: [['<script>alert(1)</script> & "q"']], empty: '' },
    ]);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;');
    expect(html).not.toContain('<script>');
  });
});
