import { quantileNames, type DatasetStatistics } from '../../pipelines/statistics.js';
import { binLabels, overviewHeader, overviewRow, percent, show } from './format-values.js';

/**
 * Statistics as a Markdown report: an overview table, then per column its quantiles, a text histogram
 * and its top values. Readable in a terminal, a pull request or the artifact browser.
 */
export function statisticsMarkdown(stats: DatasetStatistics): string {
  const lines: string[] = [
    `# Statistics: ${stats.dataset.name}`,
    '',
    `${show(stats.rows)} rows · ${stats.columns.length} columns${stats.dataset.sha256 ? ` · sha256 \`${stats.dataset.sha256.slice(0, 16)}…\`` : ''}`,
    '',
    `_Distinct counts are approximate (HyperLogLog) except for text; quantiles and top values are exact; ${stats.method.passes} DuckDB pass(es)._`,
    '',
    '## Overview',
    '',
    ...table([overviewHeader, ...stats.columns.map(overviewRow)]),
  ];
  for (const column of stats.columns) {
    lines.push('', `## ${column.name} (${column.type})`, '');
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
    lines.push(facts.join(' · '));
    if (column.quantiles) {
      const q = column.quantiles;
      lines.push(
        '',
        ...table([
          ['min', ...quantileNames, 'max'],
          [show(column.min), ...quantileNames.map((name) => show(q[name])), show(column.max)],
        ]),
      );
    }
    if (column.histogram) {
      const labels = binLabels(column);
      const peak = Math.max(...column.histogram.counts, 1);
      lines.push('', '```');
      const width = Math.max(...labels.map((label) => label.length));
      column.histogram.counts.forEach((count, i) => {
        lines.push(`${(labels[i] ?? '').padEnd(width)} │${bar(count / peak)} ${show(count)}`);
      });
      lines.push('```');
    }
    if (column.topK && column.topK.length > 0) {
      lines.push(
        '',
        ...table([
          ['value', 'count', 'share'],
          ...column.topK.map((top) => [
            String(top.value),
            show(top.count),
            percent(column.count === 0 ? 0 : top.count / column.count),
          ]),
        ]),
      );
      if (!column.topKComplete)
        lines.push('', `_Top ${column.topK.length} of ≈${show(column.distinct)} distinct values._`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function bar(fraction: number): string {
  const cells = fraction * 30;
  const full = Math.floor(cells);
  return `${'█'.repeat(full)}${cells - full >= 0.5 ? '▌' : ''}`;
}

function table(rows: string[][]): string[] {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  const [head = [], ...body] = rows;
  return [
    `| ${head.map(escape).join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
}
