import type { HistoryFacts } from './history-facts.js';
import { historyFacts } from './history-facts.js';
import { field, text } from './json-read.js';
import { messageReports } from './messages.js';
import type { ExportedHistory } from './manifest.js';
import type { AuditReport, ExportInfo, RelatedReport } from './report-types.js';
import { runReport } from './run-report.js';
import type { LoadedHistory } from './history.js';

/** A history to explain, where it came from, and its manifest entry when it was exported by Sluice. */
export interface ReportSource {
  source: string;
  loaded: LoadedHistory;
  exported: ExportedHistory | null;
  /** sha256 of the file, from a verified manifest. */
  sha256: string | null;
}

export interface ReportContext {
  generatedAt: string;
  generatedBy: string;
  export: ExportInfo | null;
}

/**
 * Build the audit report from histories alone: pipeline runs in full, and the other histories
 * (hyperparameter searches, model registries) as the messages and activities they recorded. Pure:
 * the same histories and context give the same report.
 */
export function buildAuditReport(sources: readonly ReportSource[], context: ReportContext): AuditReport {
  const facts = sources.map((s) => ({ ...s, facts: historyFacts(s.loaded) }));
  for (const f of facts) f.facts.workflowId ||= f.exported?.workflowId ?? '';
  return {
    format: 'sluice.audit-report/v1',
    generatedAt: context.generatedAt,
    generatedBy: context.generatedBy,
    export: context.export,
    sources: facts.map((f) => ({
      source: f.source,
      file: f.exported?.file ?? null,
      workflowId: f.facts.workflowId,
      runId: f.facts.runId,
      workflowType: f.facts.workflowType,
      events: f.facts.events,
      sha256: f.sha256,
    })),
    runs: facts.filter((f) => f.facts.workflowType === 'dagWorkflow').map((f) => runReport(f.facts)),
    related: facts
      .filter((f) => f.facts.workflowType !== 'dagWorkflow')
      .map((f) => relatedReport(f.facts, f.exported)),
  };
}

/** Mark which artifacts the store still holds (the CLI asks the store; the report stays pure). */
export function markArtifacts(report: AuditReport, present: ReadonlyMap<string, boolean>): AuditReport {
  return {
    ...report,
    runs: report.runs.map((run) => ({
      ...run,
      artifacts: run.artifacts.map((a) => ({ ...a, present: present.get(a.sha256) ?? false })),
    })),
  };
}

function relatedReport(facts: HistoryFacts, exported: ExportedHistory | null): RelatedReport {
  const parent = facts.parent?.workflowId ?? null;
  const role =
    exported?.role ?? (parent ? 'child' : facts.workflowType === 'registryWorkflow' ? 'registry' : 'run');
  return {
    workflowId: facts.workflowId,
    runId: facts.runId,
    workflowType: facts.workflowType,
    role,
    relatedTo: exported?.relatedTo ?? parent,
    startedAt: facts.startedAt,
    closedAt: facts.close.at,
    state: facts.close.kind,
    messages: messageReports(facts, [], true),
    activities: facts.activities.map((a) => ({
      step: text(field(a.input, 'step')) ?? a.step ?? a.activityId,
      activity: a.type,
      outcome: a.outcome,
      attempts: a.attempt,
      startedAt: a.startedAt,
      finishedAt: a.finishedAt,
      error: a.failure ? `${a.failure.type}: ${a.failure.message}` : null,
    })),
  };
}
