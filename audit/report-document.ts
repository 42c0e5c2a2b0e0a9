import { approvalBlocks, messageBlocks } from './report-approvals.js';
import { mono, nowrap, tone, type Block, type Cell } from './report-blocks.js';
import { dataBlocks, evaluationBlocks, modelBlocks } from './report-evidence.js';
import { inline, size, titleCase, took, utc } from './report-format.js';
import type { AuditReport, RelatedReport, RunReport } from './report-types.js';

/**
 * The report as a reader meets it: for each run, what happened in one sentence, then who started it,
 * the steps, the gates, the data, the model, its evaluation, every approval and refusal, what was
 * registered, the artifacts, and the evidence it all comes from. Written for a compliance officer:
 * plain words, tables, UTC times, who decided what.
 */
export function reportBlocks(report: AuditReport): Block[] {
  const blocks: Block[] = [];
  const title =
    report.runs.length === 1
      ? `Audit report: run ${report.runs[0]?.workflowId ?? ''}`
      : `Audit report: ${report.runs.length} runs`;
  blocks.push({ kind: 'heading', level: 1, text: title });
  blocks.push({
    kind: 'paragraph',
    text:
      `Generated ${utc(report.generatedAt)} by ${report.generatedBy} from ${report.sources.length} Temporal workflow ` +
      `histor${report.sources.length === 1 ? 'y' : 'ies'} alone. A history is the server's own record of everything the run ` +
      "was given, did, received and decided; nothing here comes from anyone's memory or from files that could have changed since.",
  });
  if (report.runs.length === 0) {
    blocks.push({
      kind: 'callout',
      tone: 'info',
      title: 'No pipeline runs.',
      text: 'The histories below belong to searches or model registries.',
    });
  }
  for (const run of report.runs) blocks.push(...runBlocks(run, report.related));
  const unrelated = report.related.filter((r) => !report.runs.some((run) => relatesTo(r, run)));
  if (unrelated.length > 0) {
    blocks.push({ kind: 'heading', level: 2, text: 'Other histories' });
    for (const related of unrelated) blocks.push(...relatedBlocks(related));
  }
  blocks.push(...evidenceBlocks(report));
  return blocks;
}

function relatesTo(related: RelatedReport, run: RunReport): boolean {
  return (
    related.relatedTo === run.workflowId || run.children.some((c) => c.workflowId === related.workflowId)
  );
}

function runBlocks(run: RunReport, related: RelatedReport[]): Block[] {
  const verdict = run.state === 'succeeded' ? 'good' : run.state === 'running' ? 'warn' : 'bad';
  const blocks: Block[] = [
    { kind: 'heading', level: 2, text: `Run ${run.workflowId}` },
    { kind: 'callout', tone: verdict, title: `${titleCase(run.state)}.`, text: run.summary },
    {
      kind: 'facts',
      rows: [
        ['Pipeline', `${run.pipeline}${run.description ? ` — ${run.description}` : ''}`],
        ['Pipeline owner', run.owner ?? 'not named'],
        ['Started', utc(run.startedAt)],
        [
          'Finished',
          run.finishedAt ? `${utc(run.finishedAt)} (took ${took(run.durationMs)})` : 'not finished',
        ],
        ['Who started it', `${run.start.by}, ${run.start.how} (trigger: ${run.start.trigger})`],
        ['Sent from (Temporal client)', mono(run.start.client || 'not recorded')],
        ...(run.start.rerunOf
          ? [
              [
                'Rerun of',
                `${run.start.rerunOf.of}${run.start.rerunOf.from ? ` from step ${run.start.rerunOf.from}` : ''}`,
              ] as [string, Cell],
            ]
          : []),
        ['Workflow id', mono(run.workflowId)],
        ['Temporal run id', mono(run.runId)],
        [
          'Workflow code that decided it (bundle sha256)',
          mono(run.code.bundleSha256s.join(', ') || run.code.workerBuildIds.join(', ') || 'not recorded'),
        ],
      ],
    },
  ];
  for (const note of run.notes) blocks.push({ kind: 'callout', tone: 'warn', title: 'Note.', text: note });

  blocks.push({ kind: 'heading', level: 3, text: 'Parameters' });
  blocks.push({
    kind: 'table',
    head: ['Parameter', 'Value used', 'Declared type', 'Default', 'Meaning'],
    rows: run.parameters.map((p) => [
      p.name,
      inline(p.value),
      p.type ?? '—',
      inline(p.default),
      p.description ?? '—',
    ]),
    empty: 'The pipeline takes no run parameters.',
  });
  const roles = Object.entries(run.start.roles);
  if (roles.length > 0) {
    blocks.push({
      kind: 'paragraph',
      text: 'Role membership recorded when the run started (what the approval gates used):',
    });
    blocks.push({
      kind: 'list',
      items: roles.map(([role, ids]) => `role:${role} — ${ids.join(', ') || 'no one'}`),
    });
  }

  blocks.push({ kind: 'heading', level: 3, text: 'Steps, in order' });
  blocks.push({
    kind: 'table',
    head: ['Step', 'What it does', 'Outcome', 'Attempts', 'Started', 'Took', 'Cache', 'Notes'],
    rows: run.steps.map((s) => [
      s.id,
      s.description ? `${s.description} (${s.kind})` : s.kind,
      tone(
        s.state,
        s.state === 'succeeded' ? 'good' : s.state === 'skipped' || s.state === 'pending' ? 'info' : 'bad',
      ),
      s.attempts === null ? '—' : String(s.attempts),
      nowrap(utc(s.startedAt)),
      nowrap(took(s.durationMs)),
      s.cache === 'hit'
        ? `reused from ${s.cacheFrom ?? 'an earlier run'}`
        : s.cache === 'miss'
          ? 'computed'
          : '—',
      [
        s.skippedReason,
        s.error ? `${s.error.type}: ${s.error.message}` : null,
        ...s.failures.map(
          (f) =>
            `attempt ${f.attempt ?? '?'} failed${f.at ? ` at ${utc(f.at)}` : ''}: ${f.type}: ${f.message}`,
        ),
      ]
        .filter(Boolean)
        .join('; ') || '—',
    ]),
    empty: 'The run recorded no steps.',
  });

  blocks.push({ kind: 'heading', level: 3, text: 'Gates: the checks that could stop the run' });
  blocks.push({
    kind: 'table',
    head: ['Step', 'Gate', 'Passed', 'Why'],
    rows: run.gates.map((g) => [
      g.step,
      g.gate,
      tone(g.passed ? 'passed' : 'did not pass', g.passed ? 'good' : 'bad'),
      g.reasons.join('; '),
    ]),
    empty: 'No gate was decided in this run.',
  });

  blocks.push(...dataBlocks(run), ...modelBlocks(run), ...evaluationBlocks(run));
  blocks.push(...approvalBlocks(run), ...messageBlocks(run.messages, 'Messages the run received'));
  blocks.push(
    ...registryBlocks(
      run,
      related.filter((r) => r.relatedTo === run.workflowId && r.role === 'registry'),
    ),
  );
  for (const child of related.filter((r) => r.role === 'child' && relatesTo(r, run)))
    blocks.push(...relatedBlocks(child));

  blocks.push({ kind: 'heading', level: 3, text: 'Artifacts (content-addressed)' });
  const checked = run.artifacts.some((a) => a.present !== null);
  blocks.push({
    kind: 'paragraph',
    text: checked
      ? 'Every file a step produced, by its sha256. "In store" says whether the artifact store still holds those exact bytes; the hash identifies them either way.'
      : 'Every file a step produced, by its sha256. No artifact store was consulted for this report; the hashes identify the bytes wherever they are kept.',
  });
  blocks.push({
    kind: 'table',
    head: ['Kind', 'Step', 'sha256', 'Size', 'In store'],
    rows: run.artifacts.map((a) => [
      `${a.kind} (${a.format})`,
      a.step,
      mono(a.sha256, a.present ? a.uri : undefined),
      size(a.bytes),
      a.present === null ? 'not checked' : tone(a.present ? 'yes' : 'no longer', a.present ? 'good' : 'warn'),
    ]),
    empty: 'The steps returned no artifacts.',
  });
  return blocks;
}

function registryBlocks(run: RunReport, registries: RelatedReport[]): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 3, text: 'Model registry and deployment' }];
  blocks.push({
    kind: 'table',
    head: ['Step', 'Model', 'Version', 'New version?', 'Model sha256'],
    rows: run.registrations.map((r) => [
      r.step,
      r.model,
      r.version === null ? '—' : String(r.version),
      r.created === null ? '—' : r.created ? 'yes' : 'no (already registered)',
      mono(r.modelSha256 ?? '—'),
    ]),
    empty: 'The run registered no model.',
  });
  if (registries.length === 0) {
    blocks.push({
      kind: 'paragraph',
      text: run.registrations.length
        ? "The registry's own history is not among the sources, so promotions and rollbacks are not shown: export the run with `sluice audit export` to include it."
        : 'The run did not touch the model registry; it made no promotion, deployment or rollback.',
    });
  }
  for (const registry of registries) {
    blocks.push({
      kind: 'paragraph',
      text: `Registry ${registry.workflowId} (run ${registry.runId}, ${registry.state}): every registration, promotion, rollback and refused request it received, in order.`,
    });
    blocks.push(...messageBlocks(registry.messages, null));
  }
  return blocks;
}

function relatedBlocks(related: RelatedReport): Block[] {
  const blocks: Block[] = [
    {
      kind: 'heading',
      level: 3,
      text: `${related.role === 'child' ? 'Child workflow' : 'History'} ${related.workflowId}`,
    },
    {
      kind: 'facts',
      rows: [
        ['Workflow type', related.workflowType],
        ['Started', utc(related.startedAt)],
        ['Ended', related.closedAt ? `${utc(related.closedAt)} (${related.state})` : 'still open'],
        ['Temporal run id', mono(related.runId)],
      ],
    },
  ];
  if (related.activities.length > 0) {
    blocks.push({
      kind: 'table',
      head: ['Task', 'Activity', 'Outcome', 'Attempts', 'Started', 'Finished', 'Error'],
      rows: related.activities.map((a) => [
        a.step,
        a.activity,
        tone(a.outcome, a.outcome === 'completed' ? 'good' : 'bad'),
        String(a.attempts),
        utc(a.startedAt),
        utc(a.finishedAt),
        a.error ?? '—',
      ]),
      empty: '',
    });
  }
  if (related.messages.length > 0) blocks.push(...messageBlocks(related.messages, null));
  return blocks;
}

function evidenceBlocks(report: AuditReport): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 2, text: 'Evidence this report was built from' }];
  if (report.export) {
    const e = report.export;
    blocks.push({
      kind: 'facts',
      rows: [
        ['Export', e.dir],
        ['Exported', `${utc(e.exportedAt)} by ${e.exportedBy}`],
        [
          'Verified against its manifest',
          tone('yes: every file has the sha256 the manifest records', 'good'),
        ],
        ['Sluice version at export', e.sluiceVersion],
        ['Workflow code bundle at export', mono(e.workflowBundleSha256)],
        ['Temporal server', e.temporalServerVersion],
      ],
    });
  }
  blocks.push({
    kind: 'table',
    head: ['History', 'Workflow type', 'Events', 'sha256 (from the verified manifest)'],
    rows: report.sources.map((s) => [
      s.file ?? s.source,
      s.workflowType,
      String(s.events),
      s.sha256 ? mono(s.sha256) : 'not in a manifest',
    ]),
    empty: '',
  });
  blocks.push({
    kind: 'paragraph',
    text: "To check that today's workflow code would decide every run the same way, replay these histories: `sluice audit replay <export or files>`. To check an export is unchanged: `sluice audit verify <export>`.",
  });
  return blocks;
}
