import type { Command } from 'commander';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { RegistryAliases } from '../../pipelines/registry.js';
import { openReads } from '../../client/reads.js';
import { runsQuery, stepWarnings } from '../../client/run-views.js';
import { describeOpenGate } from '../approval-view.js';
import { table } from '../output.js';
import { context } from '../commands/shared.js';

/**
 * The read-only control commands — `status`, `runs`, `models` (the list) — kept apart from the
 * commands that start or change things so that they load neither the gRPC client (when Temporal's HTTP
 * API is known: client/reads.ts) nor DuckDB, TF.js or the workflow bundle.
 */

export async function statusAction(runId: string, command: Command): Promise<void> {
  const { config, out } = context(command);
  const reads = openReads(config, (line) => out.status(line));
  try {
    const report = await reads.runReport(runId);
    const { status } = report;
    out.result(report, () => {
      const head = `${runId}  ${report.temporalState}  started ${report.startTime.toISOString()}`;
      if (!status) return `${head}\n(step details need a running worker: start one with npx sluice worker)`;
      const rows = [['step', 'state', 'attempt', 'ms', 'detail']].concat(
        status.steps.map((s) => [
          s.id,
          s.state,
          String(s.attempt ?? ''),
          String(s.durationMs ?? ''),
          s.error?.message ??
            s.skippedReason ??
            (s.cache?.hit ? `cached (from ${s.cache.from ?? 'an earlier run'})` : ''),
        ]),
      );
      const awaiting = status.approvals
        .filter((g) => g.state === 'awaiting')
        .flatMap((g) => describeOpenGate(runId, status, g));
      const refused = status.approvals
        .flatMap((g) => g.refused)
        .concat(status.refusedApprovals)
        .map((r) => `refused ${r.approver} (${r.decision}, ${r.channel}): ${r.reason}`);
      const warnings = status.steps.flatMap((s) => stepWarnings(s).map((w) => `warning at ${s.id}: ${w}`));
      const gates = status.gates.map(
        (g) => `gate ${g.gate} at ${g.step}: ${g.passed ? 'passed' : 'REFUSED'} — ${g.reasons.join('; ')}`,
      );
      return [
        head,
        `pipeline ${status.pipeline} · ${status.state} · started by ${status.startedBy} (${status.trigger})`,
        table(rows),
        ...warnings,
        ...gates,
        ...awaiting,
        ...refused,
      ].join('\n');
    });
  } finally {
    await reads.close();
  }
}

export interface RunsOptions {
  awaitingApproval?: boolean;
  pipeline?: string;
  model?: string;
  limit: string;
}

/** `sluice runs`: recent runs through a visibility query on Sluice's search attributes. */
export async function runsAction(options: RunsOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new InvalidInputError(`--limit must be a positive integer, got "${options.limit}"`);
  const filter = { ...options, limit };
  const query = runsQuery(filter);
  const reads = openReads(config, (line) => out.status(line));
  try {
    const runs = await reads.listRuns(filter);
    out.result({ query, runs }, () =>
      runs.length === 0
        ? `no runs match ${query}`
        : table([
            ['run', 'pipeline', 'status', 'stage', 'approval', 'trigger', 'started'],
            ...runs.map((r) =>
              [r.workflowId, r.pipeline, r.status, r.stage, r.approval, r.trigger, r.startTime].map(
                (c) => c ?? '',
              ),
            ),
          ]),
    );
  } finally {
    await reads.close();
  }
}

/** `sluice models` without a name: every model from visibility (no worker needed). */
export async function modelListAction(command: Command): Promise<void> {
  const { config, out } = context(command);
  const reads = openReads(config, (line) => out.status(line));
  try {
    const models = await reads.listModels();
    out.result({ models }, () =>
      models.length === 0
        ? 'no models registered yet: a pipeline step `registerModel` registers the first version'
        : [
            table([
              ['model', 'versions', 'production', 'candidate', 'previous', 'updated'],
              ...models.map((m) =>
                m.unreadable === undefined
                  ? [m.model, String(m.versions), ...aliasCells(m.aliases), m.updatedAt ?? '-']
                  : [m.model, '?', '?', '?', '?', '?'],
              ),
            ]),
            ...models.flatMap((m) =>
              m.unreadable === undefined
                ? []
                : [`${m.model}: its registry could not be read: ${m.unreadable}`],
            ),
          ].join('\n'),
    );
  } finally {
    await reads.close();
  }
}

/** A model's production, candidate and previous versions as table cells (`v3`, or `-`). */
export function aliasCells(aliases: RegistryAliases): string[] {
  return [showVersion(aliases.production), showVersion(aliases.candidate), showVersion(aliases.previous)];
}

/** `v3`, or `-` for none. */
export function showVersion(version: number | null): string {
  return version === null ? '-' : `v${version}`;
}
