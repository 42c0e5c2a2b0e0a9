import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { historyFacts } from '../../audit/history-facts.js';
import { eventTypeName, historyJson, parseHistory } from '../../audit/history.js';

const dir = fileURLToPath(new URL('../histories/', import.meta.url));
const files = (await readdir(dir)).filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json').sort();
const text = (file: string) => readFile(`${dir}${file}`, 'utf8');

describe('reading histories written by `temporal workflow show --output json`', () => {
  it.each(files)('%s is a whole history, and writes back as the same JSON', async (file) => {
    const loaded = parseHistory(await text(file), file);
    expect(loaded.events[0]?.workflowExecutionStartedEventAttributes).toBeTruthy();
    expect(loaded.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(historyJson(loaded.history))).toEqual(JSON.parse(await text(file)));
  });

  it('decodes an approved lifecycle run: start, steps, signals and final status', async () => {
    const facts = historyFacts(parseHistory(await text('lifecycle-approved.json'), 'x'));
    expect(facts).toMatchObject({
      workflowId: 'replay-lifecycle-approved',
      workflowType: 'dagWorkflow',
      close: { kind: 'completed' },
    });
    expect(facts.activities.map((a) => `${a.type}:${a.outcome}`)).toEqual([
      'ingestDataset:completed',
      'computeStatistics:completed',
      'validateDataset:completed',
      'trainModel:completed',
      'evaluateModel:completed',
      'renderModelCard:completed',
      'registerModel:completed',
    ]);
    expect(facts.signals.map((s) => s.args[0])).toMatchObject([
      { ok: true, value: { approver: 'recorder', decision: 'approve', comment: 'my own run' } },
      { ok: true, value: { approver: 'rita', decision: 'approve', comment: 'metrics fine' } },
    ]);
    expect(facts.workerBuildIds[0]).toMatch(/^@temporalio\/worker@[\d.]+\+[0-9a-f]{64}$/);
  });

  it('decodes a failed run: the failure and the status it carries as details', async () => {
    const facts = historyFacts(parseHistory(await text('first-dag-failed-missing-source.json'), 'x'));
    expect(facts.close.kind).toBe('failed');
    expect(facts.close.failure?.message).toMatch(/^step "profile" failed: /);
    expect(facts.close.failure?.details[0]).toMatchObject({ ok: true, value: { state: 'failed' } });
    expect(facts.activities[0]).toMatchObject({ type: 'profileDataset', outcome: 'failed' });
  });

  it('decodes local activities from their markers: the step, its activity, attempt and result', async () => {
    const facts = historyFacts(parseHistory(await text('fast-steps.json'), 'x'));
    const stepOf = (a: (typeof facts.activities)[number]) =>
      a.step ?? (a.input as { step?: string } | undefined)?.step;
    // The step cache's own lookups and stores are not steps, and are left out.
    expect(
      facts.activities.map((a) => `${stepOf(a)}:${a.type}:${a.taskQueue === '(local)' ? 'local' : 'task'}`),
    ).toEqual(['a:noop:local', 'b:noop:task', 'c:noop:local', 'd:noop:local', 'e:writeRunSummary:local']);
    const summary = facts.activities.find((a) => a.type === 'writeRunSummary');
    expect(summary).toMatchObject({ outcome: 'completed', attempt: 1, result: { attempt: 1 } });
    expect(Date.parse(summary?.finishedAt ?? '')).toBeGreaterThan(0);
  });

  it('decodes a registry: updates with who sent them and how each ended', async () => {
    const facts = historyFacts(parseHistory(await text('registry-refusals.json'), 'x'));
    expect(facts.workflowType).toBe('registryWorkflow');
    expect(facts.updates.length).toBeGreaterThan(0);
    expect(facts.updates.some((u) => u.outcome?.ok === false)).toBe(true);
  });

  it('names event types as the Web UI does', async () => {
    const loaded = parseHistory(await text('first-dag-succeeded.json'), 'x');
    expect(loaded.events.slice(0, 3).map(eventTypeName)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
    ]);
  });
});

describe('refusing what is not a whole history, in one line naming the file', () => {
  it('a file that is not JSON', () => {
    expect(() => parseHistory('hello', 'notes.txt')).toThrow(
      /^notes\.txt is not a Temporal history: it is not JSON/,
    );
  });

  it('JSON that is not a history', () => {
    expect(() => parseHistory('{"a": 1}', 'ids.json')).toThrow(
      'ids.json is not a Temporal history: expected {"events": [...]}',
    );
    expect(() => parseHistory('{"events": []}', 'e.json')).toThrow(
      'e.json is not a Temporal history: it has no events',
    );
  });

  it('a history cut short in the middle of its JSON', async () => {
    const whole = await text('first-dag-succeeded.json');
    expect(() => parseHistory(whole.slice(0, whole.length / 2), 'cut.json')).toThrow(
      /^cut\.json is truncated: its JSON ends early/,
    );
  });

  it('a history missing its start event, or with a gap', async () => {
    const json = JSON.parse(await text('first-dag-succeeded.json')) as { events: unknown[] };
    expect(() => parseHistory(JSON.stringify({ events: json.events.slice(1) }), 'h.json')).toThrow(
      'h.json is truncated: it starts with event 2 WorkflowTaskScheduled, not event 1 WorkflowExecutionStarted',
    );
    const gap = [...json.events.slice(0, 5), ...json.events.slice(6)];
    expect(() => parseHistory(JSON.stringify({ events: gap }), 'h.json')).toThrow(
      'h.json is truncated or edited: event 7 follows event 5, where event 6 belongs',
    );
  });
});
