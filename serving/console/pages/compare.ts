import { listRuns, runReport, type RunReport } from '../../../client/run-queries.js';
import { html, type SafeHtml } from '../escape.js';
import { formatNumber, page } from '../layout.js';
import type { ConsoleContext } from '../routes.js';

type Query = Record<string, string | string[] | undefined>;
const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Run comparison (what MLflow's compare view gives): pick runs of a pipeline, see their parameters and
 * metrics side by side with differences highlighted, and one metric over the runs as an inline SVG chart.
 * Metrics are the numbers in the steps' outputs (`step.path`), in run start order.
 */
export async function comparePage(ctx: ConsoleContext, query: Query): Promise<string> {
  const pipeline = list(query['pipeline'])[0]?.trim() || undefined;
  const picked = list(query['runs']);
  const recent = await listRuns(ctx.client, { pipeline, limit: 30 });
  const pipelines = [...new Set(recent.map((r) => r.pipeline).filter((p): p is string => !!p))];
  const picker = html`<form method="get" action="/console/compare">
    <label for="c-pipeline">Pipeline</label>
    <input id="c-pipeline" name="pipeline" value="${pipeline}" list="c-pipelines" />
    <datalist id="c-pipelines">${pipelines.map((p) => html`<option value="${p}"></option>`)}</datalist>
    ${
      pipeline
        ? html`<fieldset>
            <legend>Runs of ${pipeline} to compare</legend>
            ${recent.map(
              (r) =>
                html`<label
                  ><input
                    type="checkbox"
                    name="runs"
                    value="${r.workflowId}"
                    ${picked.includes(r.workflowId) ? html`checked` : ''}
                  />
                  ${r.workflowId} (${r.status}, ${r.startTime})</label
                >`,
            )}
          </fieldset>`
        : ''
    }
    <button type="submit">${pipeline ? 'Compare' : 'Show runs'}</button>
  </form>`;
  if (picked.length < 2) {
    return page(
      'Compare runs',
      ctx.viewer,
      html`${picker}
        <p>Pick at least two runs of one pipeline.</p>`,
    );
  }
  const reports = await Promise.all(
    picked.slice(0, 8).map((id) => runReport(ctx.client, ctx.config.temporal.namespace, id)),
  );
  reports.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const params = sideBySide(reports, (r) =>
    Object.fromEntries(Object.entries(r.status?.runParams ?? {}).map(([k, v]) => [k, String(v)])),
  );
  const metrics = sideBySide(reports, (r) => metricsOf(r));
  // Default chart: a metric every run has, one that differs if there is one.
  const inAll = metrics.filter((row) => row.values.every((v) => typeof v === 'number'));
  const chosen =
    list(query['metric'])[0] ?? (inAll.find((row) => row.differs) ?? inAll[0] ?? metrics[0])?.name;
  return page(
    'Compare runs',
    ctx.viewer,
    html`${picker}
      <h2>Parameters</h2>
      ${table(reports, params, 'parameters')}
      <h2>Metrics</h2>
      ${table(reports, metrics, 'metrics')}
      <h2>Metric over runs</h2>
      <form method="get" action="/console/compare">
        <input type="hidden" name="pipeline" value="${pipeline}" />
        ${picked.map((id) => html`<input type="hidden" name="runs" value="${id}" />`)}
        <label for="c-metric">Metric</label>
        <select id="c-metric" name="metric">
          ${metrics.map((m) => html`<option ${m.name === chosen ? html`selected` : ''}>${m.name}</option>`)}
        </select>
        <button type="submit">Chart</button>
      </form>
      ${
        chosen
          ? chart(
              chosen,
              reports,
              metrics.find((m) => m.name === chosen),
            )
          : html`<p>No numeric metric in these runs.</p>`
      }`,
  );
}

interface Row {
  name: string;
  values: (string | number | undefined)[];
  differs: boolean;
}

function sideBySide(reports: RunReport[], pick: (r: RunReport) => Record<string, string | number>): Row[] {
  const per = reports.map(pick);
  const names = [...new Set(per.flatMap((p) => Object.keys(p)))].sort();
  return names.map((name) => {
    const values = per.map((p) => p[name]);
    return { name, values, differs: new Set(values.map((v) => String(v))).size > 1 };
  });
}

function table(reports: RunReport[], rows: Row[], what: string): SafeHtml {
  if (rows.length === 0) return html`<p>No ${what} recorded.</p>`;
  return html`<table>
    <caption>
      ${what}: rows that differ between runs are highlighted and marked “differs”
    </caption>
    <thead>
      <tr>
        <th scope="col">Name</th>
        ${reports.map((r) => html`<th scope="col"><a href="/console/runs/${encodeURIComponent(r.workflowId)}">${r.workflowId}</a></th>`)}
        <th scope="col">Differs</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (row) =>
          html`<tr class="${row.differs ? 'differs' : ''}">
            <th scope="row">${row.name}</th>
            ${row.values.map(
              (v) =>
                html`<td class="${typeof v === 'number' ? 'num' : ''}">
                  ${typeof v === 'number' ? formatNumber(v) : (v ?? '—')}
                </td>`,
            )}
            <td>${row.differs ? 'differs' : ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** Numeric leaves of each step's output, up to three levels down, as `step.path`. */
export function metricsOf(report: RunReport): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (value: unknown, path: string, depth: number) => {
    if (typeof value === 'number' && Number.isFinite(value)) out[path] = value;
    else if (value && typeof value === 'object' && !Array.isArray(value) && depth < 4) {
      for (const [k, v] of Object.entries(value as Record<string, unknown>))
        walk(v, `${path}.${k}`, depth + 1);
    }
  };
  for (const step of report.status?.steps ?? []) walk(step.output, step.id, 0);
  return out;
}

function chart(name: string, reports: RunReport[], row: Row | undefined): SafeHtml {
  const points = reports
    .map((r, i) => ({ run: r.workflowId, i, v: row?.values[i] }))
    .filter((p): p is { run: string; i: number; v: number } => typeof p.v === 'number');
  if (points.length === 0) return html`<p>${name} is not a number in these runs.</p>`;
  const width = 640;
  const height = 240;
  const pad = 40;
  const min = Math.min(...points.map((p) => p.v));
  const max = Math.max(...points.map((p) => p.v));
  const span = max - min || Math.abs(max) || 1;
  const x = (i: number) => pad + (reports.length === 1 ? 0 : (i * (width - 2 * pad)) / (reports.length - 1));
  const y = (v: number) => height - pad - ((v - min) / span) * (height - 2 * pad);
  const line = points.map((p) => `${x(p.i).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  return html`<figure>
    <svg
      role="img"
      aria-labelledby="chart-title"
      width="${width}"
      height="${height}"
      viewBox="0 0 ${width} ${height}"
    >
      <title id="chart-title">
        ${name} over ${points.length} runs, from ${formatNumber(min)} to ${formatNumber(max)}
      </title>
      <line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#667" />
      <line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#667" />
      <text x="4" y="${pad}" font-size="11">${formatNumber(max)}</text>
      <text x="4" y="${height - pad}" font-size="11">${formatNumber(min)}</text>
      <polyline points="${line}" fill="none" stroke="#12355b" stroke-width="2" />
      ${points.map(
        (p) =>
          html`<circle cx="${x(p.i).toFixed(1)}" cy="${y(p.v).toFixed(1)}" r="4" fill="#12355b"
              ><title>${p.run}: ${formatNumber(p.v)}</title></circle
            >
            <text x="${x(p.i).toFixed(1)}" y="${height - pad + 16}" font-size="10" text-anchor="middle"
              >run ${p.i + 1}</text
            >`,
      )}
    </svg>
    <figcaption>
      ${name} for runs in start order:
      ${points.map((p) => `run ${p.i + 1} = ${p.run}: ${formatNumber(p.v)}`).join('; ')}
    </figcaption>
  </figure>`;
}
