import { quantileNames, type ColumnStatistics, type DatasetStatistics } from '../../pipelines/statistics.js';
import { binLabels, overviewHeader, overviewRow, percent, show } from './format-values.js';

const style = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin:2rem 0 .4rem;border-bottom:1px solid #dde2ea;padding-bottom:.2rem}
.muted{color:#5c6677}table{border-collapse:collapse;margin:.5rem 0;font-variant-numeric:tabular-nums}
th,td{padding:.25rem .6rem;border-bottom:1px solid #eceff4;text-align:right}th{background:#f5f7fa;font-weight:600}
td:first-child,th:first-child{text-align:left}code{background:#f1f3f7;padding:0 .25rem;border-radius:3px}
.facts span{display:inline-block;margin-right:1rem}.charts{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-start}
svg text{font:11px system-ui,sans-serif;fill:#394150}svg rect.bar{fill:#4a7fd4}svg rect.bar:hover{fill:#2c5fb0}`;

/**
 * Statistics as one self-contained HTML page (inline CSS and SVG, no scripts, no network), so it can be
 * stored as an artifact and opened anywhere: an overview table, then per column its facts, quantiles,
 * a histogram and its top values as small bar charts.
 */
export function statisticsHtml(stats: DatasetStatistics): string {
  const sections = stats.columns.map(columnSection).join('\n');
  const sha = stats.dataset.sha256
    ? ` · sha256 <code>${escape(stats.dataset.sha256.slice(0, 16))}…</code>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Statistics: ${escape(stats.dataset.name)}</title><style>${style}</style></head>
<body>
<h1>Statistics: ${escape(stats.dataset.name)}</h1>
<p class="muted">${escape(show(stats.rows))} rows · ${stats.columns.length} columns${sha}<br>
Distinct counts are approximate (HyperLogLog) except for text; quantiles and top values are exact; ${stats.method.passes} DuckDB pass(es).</p>
<h2>Overview</h2>
${htmlTable(overviewHeader, stats.columns.map(overviewRow))}
${sections}
</body></html>
`;
}

function columnSection(column: ColumnStatistics): string {
  const facts = [
    `count ${show(column.count)}`,
    `nulls ${show(column.nulls)} (${percent(column.nullFraction)})`,
    `distinct ≈${show(column.distinct)}`,
  ];
  if (column.nan !== undefined) {
    facts.push(`NaN ${show(column.nan)}`, `+Inf ${show(column.posInf)}`, `−Inf ${show(column.negInf)}`);
  }
  if (column.minLength !== undefined)
    facts.push(`length ${show(column.minLength)}–${show(column.maxLength)}`);
  const parts = [
    `<h2>${escape(column.name)} <span class="muted">${escape(column.type)}</span></h2>`,
    `<p class="facts">${facts.map((fact) => `<span>${escape(fact)}</span>`).join('')}</p>`,
  ];
  if (column.quantiles) {
    const q = column.quantiles;
    parts.push(
      htmlTable(
        ['min', ...quantileNames, 'max'],
        [[show(column.min), ...quantileNames.map((name) => show(q[name])), show(column.max)]],
      ),
    );
  }
  const charts: string[] = [];
  if (column.histogram) {
    charts.push(barChart('histogram', binLabels(column), column.histogram.counts, true));
  }
  if (column.topK && column.topK.length > 0) {
    const title = column.topKComplete
      ? 'all values'
      : `top ${column.topK.length} of ≈${show(column.distinct)}`;
    charts.push(
      barChart(
        title,
        column.topK.map((top) => String(top.value)),
        column.topK.map((top) => top.count),
        false,
      ),
    );
  }
  if (charts.length > 0) parts.push(`<div class="charts">${charts.join('')}</div>`);
  return parts.join('\n');
}

/** Horizontal bars, one per label, with the count at the end and the label in a tooltip. */
function barChart(
  title: string,
  labels: readonly string[],
  counts: readonly number[],
  vertical: boolean,
): string {
  const peak = Math.max(...counts, 1);
  if (vertical) {
    const width = 420;
    const height = 120;
    const step = width / Math.max(counts.length, 1);
    const bars = counts
      .map((count, i) => {
        const h = (count / peak) * height;
        return `<rect class="bar" x="${(i * step + 1).toFixed(1)}" y="${(height - h + 14).toFixed(1)}" width="${Math.max(step - 2, 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${escape(labels[i] ?? '')}: ${escape(show(count))}</title></rect>`;
      })
      .join('');
    return `<svg width="${width}" height="${height + 32}" role="img" aria-label="${escape(title)}"><text x="0" y="10">${escape(title)}</text>${bars}<text x="0" y="${height + 28}">${escape((labels[0] ?? '').split(' – ')[0] ?? '')}</text><text x="${width}" y="${height + 28}" text-anchor="end">${escape(labels[labels.length - 1]?.split(' – ')[1] ?? '')}</text></svg>`;
  }
  const row = 16;
  const labelWidth = 140;
  const barWidth = 240;
  const rows = counts
    .map((count, i) => {
      const y = 16 + i * row;
      const w = (count / peak) * barWidth;
      const label = labels[i] ?? '';
      const short = label.length > 20 ? `${label.slice(0, 19)}…` : label;
      return `<text x="0" y="${y + 11}">${escape(short)}<title>${escape(label)}</title></text><rect class="bar" x="${labelWidth}" y="${y + 2}" width="${w.toFixed(1)}" height="${row - 4}"></rect><text x="${(labelWidth + w + 4).toFixed(1)}" y="${y + 11}">${escape(show(count))}</text>`;
    })
    .join('');
  return `<svg width="${labelWidth + barWidth + 90}" height="${16 + counts.length * row + 4}" role="img" aria-label="${escape(title)}"><text x="0" y="10">${escape(title)}</text>${rows}</svg>`;
}

function htmlTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = (row: readonly string[], tag: 'td' | 'th'): string =>
    row.map((cell) => `<${tag}>${escape(cell)}</${tag}>`).join('');
  return `<table><thead><tr>${cells(head, 'th')}</tr></thead><tbody>${rows.map((row) => `<tr>${cells(row, 'td')}</tr>`).join('')}</tbody></table>`;
}

/** Text made safe for HTML: column names and values come from users' files. */
export function escape(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
