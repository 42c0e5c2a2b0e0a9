import type { DriftReport } from '../../pipelines/drift.js';

/**
 * A drift report as Markdown: the verdict table first (what an engineer scans), then per feature the
 * bins with both sides' shares, so a `drift` verdict can be traced to the bins that moved.
 */
export function driftMarkdown(report: DriftReport): string {
  const num = (value: number): string =>
    value === 0 ? '0' : Math.abs(value) < 0.001 ? value.toExponential(2) : value.toFixed(4);
  const pct = (value: number): string => `${(value * 100).toFixed(2)}%`;
  const lines = [
    `# Drift: ${report.current.name} vs ${report.reference.name}`,
    '',
    `reference ${report.reference.rows.toLocaleString('en-US')} rows · current ${report.current.rows.toLocaleString('en-US')} rows · **${report.drifted} of ${report.features.length} features drifted**`,
    '',
    `_PSI with empty-bin shares floored at ${report.method.psiEpsilon}; Jensen–Shannon distance (log base ${report.method.jsLogBase}); numeric bins: ${report.method.numericBins}; KS: ${report.method.ks}._`,
    '',
    '| feature | kind | verdict | psi | js | ks | ks p-value | why |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...report.features.map(
      (f) =>
        `| ${cell(f.column)} | ${f.kind} | ${f.verdict === 'drift' ? '**drift**' : 'ok'} | ${num(f.psi)} | ${num(f.js)} | ${f.ks ? num(f.ks.statistic) : '–'} | ${f.ks ? f.ks.pValue.toExponential(2) : '–'} | ${cell(f.reasons.join('; '))} |`,
    ),
  ];
  const { schema } = report;
  if (schema.onlyInReference.length + schema.onlyInCurrent.length + schema.typeChanged.length > 0) {
    lines.push('', '## Schema skew', '');
    if (schema.onlyInReference.length > 0)
      lines.push(`- only in reference: ${schema.onlyInReference.map(cell).join(', ')}`);
    if (schema.onlyInCurrent.length > 0)
      lines.push(`- only in current: ${schema.onlyInCurrent.map(cell).join(', ')}`);
    for (const change of schema.typeChanged)
      lines.push(`- ${cell(change.column)}: ${change.reference} → ${change.current}`);
  }
  if (report.skipped.length > 0) {
    lines.push('', '## Not compared', '', ...report.skipped.map((s) => `- ${cell(s.column)}: ${s.reason}`));
  }
  for (const feature of report.features) {
    lines.push(
      '',
      `## ${cell(feature.column)} — ${feature.verdict}`,
      '',
      '| bin | reference | current | Δ |',
      '| --- | --- | --- | --- |',
    );
    for (const bin of feature.bins) {
      const delta = bin.current - bin.reference;
      lines.push(
        `| ${cell(bin.label)} | ${pct(bin.reference)} | ${pct(bin.current)} | ${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(2)} pt |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}
