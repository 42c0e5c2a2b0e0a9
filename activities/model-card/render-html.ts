import type { FairnessReport, GroupRow } from '../../pipelines/evaluation.js';
import type { ModelCardData } from './card-data.js';
import type { Chart } from './charts.js';
import { renderImportance } from './importance-words.js';
import { calibrationHtml } from './calibration-card.js';
import { num, pct, withInterval } from './metric-words.js';

/**
 * The model card as one self-contained HTML page (inline CSS, inline SVG charts): readable by an
 * approver who does not read code, printable, and safe to archive with the approval. All text from
 * data or specs is escaped.
 */
export function renderCardHtml(
  card: ModelCardData,
  charts: Chart[],
  fairness: FairnessReport[],
  slices: GroupRow[],
  omitted: { slice: string; groups: number; rows: number }[] = [],
): string {
  const verdictClass = card.verdict.blessed ? 'ok' : 'no';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model card: ${esc(card.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${CSS}</style></head>
<body><main>
<header><p class="eyebrow">Model card · pipeline ${esc(card.pipeline)} · run ${esc(card.run.workflowId)}</p>
<h1>${esc(card.title)}</h1><p class="lead">${esc(card.purpose)}</p></header>

<section class="verdict ${verdictClass}">
<h2>${card.verdict.blessed ? '✔ Recommended for approval' : '✘ Not recommended for approval'}</h2>
<p>${esc(card.verdict.summary)}</p>
${
  card.verdict.checks.length === 0
    ? '<p>No requirements were set for this model.</p>'
    : `<table><thead><tr><th>Requirement</th><th>Result</th></tr></thead><tbody>
${card.verdict.checks.map((c) => `<tr class="${c.passed ? 'pass' : 'fail'}"><td>${esc(c.plain)}<div class="detail">${esc(c.message)}</div></td><td>${c.passed ? '✔ met' : '✘ not met'}</td></tr>`).join('\n')}
</tbody></table>`
}
</section>

<section><h2>What it is for</h2>
<dl>
<dt>Intended use</dt><dd>${esc(card.intendedUse)}</dd>
<dt>What it predicts</dt><dd>${esc(predicts(card))}, using ${esc(card.model.description)}.</dd>
<dt>Owner</dt><dd>${esc(card.owner)}</dd>
</dl>
${card.limitations.length > 0 ? `<h3>Known limitations</h3><ul>${card.limitations.map((l) => `<li>${esc(l)}</li>`).join('')}</ul>` : ''}
</section>

<section><h2>How well it works</h2>
<p class="note">Measured on ${card.data.evaluatedOn.rows.toLocaleString('en')} cases the model never saw while learning (the ${esc(card.data.evaluatedOn.split)} split). The range in brackets is a 95% confidence interval: with other, similar data the figure would most likely fall inside it.</p>
<table class="metrics"><thead><tr><th>Measure</th><th>This model</th>${card.metrics.some((m) => m.production !== null) ? '<th>Production model</th><th>Change</th>' : ''}<th>What it means</th></tr></thead><tbody>
${card.metrics
  .map(
    (m) =>
      `<tr><td>${esc(m.label)}</td><td class="num">${withInterval(m.value, m.lo, m.hi)}</td>${card.metrics.some((x) => x.production !== null) ? `<td class="num">${m.production === null ? '—' : num(m.production)}</td><td>${esc(m.change ?? '—')}</td>` : ''}<td>${esc(m.explanation)}</td></tr>`,
  )
  .join('\n')}
</tbody></table>
${calibrationHtml(card.calibration)}
</section>

<section><h2>Charts</h2><div class="charts">
${charts.map((c) => `<figure><figcaption><strong>${esc(c.title)}</strong><br>${esc(c.caption)}</figcaption>${c.svg ?? `<p class="note">This chart could not be drawn: ${esc(c.error ?? 'unknown error')}</p>`}</figure>`).join('\n')}
</div></section>

${fairness.map(renderFairness).join('\n')}
${slices.length > 0 ? renderSlices(slices, card, omitted) : ''}
${card.importance ? renderImportance(card.importance, esc) : ''}

<section><h2>The data</h2>
<dl>
<dt>Dataset</dt><dd><code>${esc(card.data.dataset.uri)}</code>, ${card.data.dataset.bytes.toLocaleString('en')} bytes, fingerprint <code title="${esc(card.data.dataset.sha256)}">${esc(card.data.dataset.sha256.slice(0, 16))}…</code></dd>
<dt>Rows</dt><dd>${card.data.rows.train.toLocaleString('en')} to learn from, ${card.data.rows.validation.toLocaleString('en')} to decide when to stop, ${card.data.rows.test.toLocaleString('en')} held back for the results above${card.data.leftOut === null ? '' : `. ${esc(card.data.leftOut)}`}</dd>
</dl>
<table><thead><tr><th>Input</th><th>Kind</th><th>On the learning data</th></tr></thead><tbody>
${card.data.features.map((f) => `<tr><td>${esc(f.name)}</td><td>${f.kind}</td><td>${esc(f.summary)}</td></tr>`).join('\n')}
</tbody></table>
</section>

<section class="technical"><h2>Technical details</h2>
<dl>
<dt>Model</dt><dd><code>${esc(card.model.ref.sha256)}</code></dd>
<dt>Evaluation</dt><dd><code>${esc(card.evaluation.sha256)}</code></dd>
<dt>Trained by</dt><dd>${esc(trainedBy(card.model))}</dd>
<dt>Libraries</dt><dd>${Object.entries(card.model.libraries)
    .map(([k, v]) => `${esc(k)} ${esc(v)}`)
    .join(', ')}</dd>
<dt>Settings</dt><dd><code class="block">${esc(JSON.stringify(card.model.hyperparameters))}</code></dd>
</dl>
</section>
</main></body></html>
`;
}

/**
 * How the model was trained, in the card's words: a boosted ensemble counts rounds, a network epochs,
 * and a user's trainer fits once (Sluice records no epochs for it); TF.js is named only when it trained.
 */
export function trainedBy(model: ModelCardData['model']): string {
  const { training: t, engine, seed } = model;
  if (engine.startsWith('custom'))
    return `${engine} trainer, seed ${seed}; one fit (your trainer's own iterations are not recorded)`;
  const unit = engine === 'gbdt' ? 'round' : 'epoch';
  const backend = engine === 'tfjs' ? `, TF.js backend ${model.backend}` : '';
  const stopped = t.stoppedEarly ? ' (stopped early)' : '';
  return `${engine} trainer${backend}, seed ${seed}; best ${unit} ${t.bestEpoch} of ${t.epochsRun}${stopped}`;
}

function renderFairness(report: FairnessReport): string {
  const s = report.summary;
  const row = (
    label: string,
    e: { value: number | null; lo: number | null; hi: number | null },
    meaning: string,
  ) =>
    `<tr><td>${label}</td><td class="num">${withInterval(e.value, e.lo, e.hi)}</td><td>${meaning}</td></tr>`;
  return `<section><h2>Fairness across ${esc(report.column)}</h2>
<table><thead><tr><th>${esc(report.column)}</th><th>Cases</th><th>Predicted yes</th><th>True cases caught</th><th>False alarms</th></tr></thead><tbody>
${report.groups.map((g) => `<tr><td>${esc(g.value)}</td><td class="num">${g.rows.toLocaleString('en')}</td><td class="num">${rate(g.selectionRate)}</td><td class="num">${rate(g.truePositiveRate)}</td><td class="num">${rate(g.falsePositiveRate)}</td></tr>`).join('\n')}
</tbody></table>
<table><thead><tr><th>Gap</th><th>Value (95% range)</th><th>What it means</th></tr></thead><tbody>
${row('Demographic-parity difference', s.demographicParityDifference, 'Largest difference between groups in how often the model says yes (0 = equal).')}
${row('Demographic-parity ratio', s.demographicParityRatio, 'Lowest group rate of yes divided by the highest (1 = equal; below 0.8 is a common warning sign).')}
${row('Equalized-odds difference', s.equalizedOddsDifference, 'Largest difference between groups in true cases caught or false alarms raised (0 = equal).')}
</tbody></table></section>`;
}

function renderSlices(
  slices: GroupRow[],
  card: ModelCardData,
  omitted: { slice: string; groups: number; rows: number }[],
): string {
  const names = card.metrics
    .map((m) => m.name)
    .filter((n) => slices.some((s) => s.metrics[n] !== undefined))
    .slice(0, 4);
  return `<section><h2>Results by slice</h2>
<p class="note">The same measures on parts of the evaluation data, to spot groups where the model does worse. Figures on few cases are less certain.</p>
<table><thead><tr><th>Slice</th><th>Cases</th>${names.map((n) => `<th>${esc(card.metrics.find((m) => m.name === n)?.label ?? n)}</th>`).join('')}</tr></thead><tbody>
${slices.map((s) => `<tr><td>${esc(s.slice)} = ${esc(s.value)}</td><td class="num">${s.rows.toLocaleString('en')}</td>${names.map((n) => `<td class="num">${s.metrics[n] === null || s.metrics[n] === undefined ? '<span title="not defined on this slice: too few cases, or only one outcome">too small</span>' : num(s.metrics[n])}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>${omitted.map((o) => `<p class="note">${esc(o.slice)}: ${o.groups.toLocaleString('en')} smaller group${o.groups === 1 ? '' : 's'} (${o.rows.toLocaleString('en')} cases in all) not scored one by one; raise <code>maxGroups</code> to see them.</p>`).join('')}</section>`;
}

function predicts(card: ModelCardData): string {
  const what = `“${card.outcome.definition}”`;
  if (card.model.task === 'binary') return `Whether ${what} holds`;
  if (card.model.task === 'multiclass')
    return `Which ${what} it is (one of ${card.outcome.classes.join(', ')})`;
  return `The value of ${what}`;
}

function rate(value: number | null): string {
  return value === null ? '—' : pct(value);
}

function esc(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

const CSS = `
body{margin:0;background:#f5f6f8;color:#1d232a;font:15px/1.5 Helvetica,Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:32px 28px 64px}
header h1{margin:4px 0 8px;font-size:30px}
.eyebrow{margin:0;color:#5b6570;font-size:13px;text-transform:uppercase;letter-spacing:.04em}
.lead{font-size:18px;color:#38414b;margin:0}
section{background:#fff;border:1px solid #e2e6ea;border-radius:10px;padding:20px 24px;margin-top:20px}
h2{margin:0 0 12px;font-size:20px}
h3{font-size:16px;margin:16px 0 6px}
.verdict.ok{border-left:8px solid #2e9d5b}
.verdict.no{border-left:8px solid #d1453b}
.verdict.ok h2{color:#1f7a45}
.verdict.no h2{color:#b3322a}
table{border-collapse:collapse;width:100%;margin:8px 0 4px;font-size:14px}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#f7f8fa;font-weight:600;color:#38414b}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
tr.fail td{background:#fdf0ef}
tr.pass td:last-child{color:#1f7a45}
tr.fail td:last-child{color:#b3322a;font-weight:600}
dl{display:grid;grid-template-columns:170px 1fr;gap:6px 16px;margin:0}
dt{color:#5b6570}
dd{margin:0}
.note{color:#5b6570;font-size:14px}
.charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:20px}
figure{margin:0;border:1px solid #eceff3;border-radius:8px;padding:12px;overflow:hidden}
figcaption{font-size:13px;color:#5b6570;margin-bottom:8px}
figcaption strong{color:#1d232a;font-size:14px}
figure svg{max-width:100%;height:auto}
code{font-size:12.5px;background:#f3f4f6;padding:1px 5px;border-radius:4px;word-break:break-all}
code.block{display:block;padding:8px;white-space:pre-wrap}
.technical{font-size:14px}
.detail{color:#8a939c;font-size:12px;margin-top:2px}
`;
