import type { ApprovalGateStatus } from '../pipelines/approval.js';
import type { DagStatus } from '../workflows/index.js';

/**
 * What an approver sees first about an open gate (issue: before anything else): the model version,
 * its metrics with intervals, the blessing reasons, the comparison with production, the model card,
 * who may decide and until when — and the exact command to approve.
 */
export function describeOpenGate(runId: string, status: DagStatus, gate: ApprovalGateStatus): string[] {
  const subject = asRecord(gate.subject);
  const lines = [
    `awaiting approval at ${gate.step}: model version ${gate.modelVersion}, ${gate.decisions.length} of ${gate.policy.quorum} decisions, deadline ${gate.deadline}`,
    `  eligible: ${gate.eligible.join(', ') || '(no one holds the roles)'} · may not approve: ${gate.excluded.join(', ')}`,
  ];
  const metrics = asRecord(subject['metrics']);
  const shown = Object.entries(metrics)
    .map(([name, value]) => {
      const m = asRecord(value);
      return typeof m['value'] === 'number'
        ? `${name} ${m['value'].toFixed(4)}${typeof m['lo'] === 'number' && typeof m['hi'] === 'number' ? ` [${m['lo'].toFixed(4)}, ${m['hi'].toFixed(4)}]` : ''}`
        : undefined;
    })
    .filter((text): text is string => text !== undefined);
  if (shown.length) lines.push(`  metrics (95% CI): ${shown.join(' · ')}`);
  const reasons = asArray(asRecord(subject['blessing'])['reasons'])
    .map((r) => asRecord(r)['message'])
    .filter((message): message is string => typeof message === 'string');
  if (reasons.length) lines.push(`  blessing: ${reasons.join('; ')}`);
  const production = asRecord(subject['production']);
  lines.push(
    Object.keys(production).length
      ? `  vs production: ${JSON.stringify(production['delta'] ?? production)}`
      : '  vs production: no production model yet',
  );
  const card = status.steps.find((s) => s.activity === 'renderModelCard' && s.state === 'succeeded');
  const html = asRecord(asRecord(card?.output)['html']);
  if (typeof html['uri'] === 'string') lines.push(`  model card: ${html['uri']}`);
  if (gate.policy.signed) {
    lines.push(
      `  signed decisions only (metrics digest ${gate.metricsDigest}): sluice approve signs with ~/.sluice/keys/<id>.pem; ` +
        `for temporal workflow signal, npx sluice sign ${runId} --as <id> prints the --input`,
    );
  }
  lines.push(`  approve: npx sluice approve ${runId} --as <id> [--comment <why>]`);
  lines.push(`  reject:  npx sluice reject ${runId} --as <id> --reason <why>`);
  return lines;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
