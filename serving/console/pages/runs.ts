import { listRuns, runReport, type RunSummary } from '../../../client/run-queries.js';
import { html } from '../escape.js';
import { page } from '../layout.js';
import type { ConsoleContext } from '../routes.js';

type Query = Record<string, string | string[] | undefined>;
const text = (q: Query, name: string) => {
  const v = q[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s && s.trim() ? s.trim() : undefined;
};

/**
 * Runs: filter by pipeline, model, stage and "awaiting my approval"; the table refreshes itself while
 * any listed run is running (`?fragment=1` gives just the table, for the polling script).
 */
export async function runsPage(ctx: ConsoleContext, query: Query): Promise<string> {
  const filter = {
    pipeline: text(query, 'pipeline'),
    model: text(query, 'model'),
    stage: text(query, 'stage'),
    mine: text(query, 'mine') === '1',
  };
  let runs = await listRuns(ctx.client, {
    pipeline: filter.pipeline,
    model: filter.model,
    awaitingApproval: filter.mine,
    limit: 50,
  });
  if (filter.stage) runs = runs.filter((r) => r.stage === filter.stage);
  if (filter.mine) runs = await awaitingMe(ctx, runs);
  const table = runsTable(runs, filter.mine);
  if (text(query, 'fragment') === '1') return table.text;
  const live = runs.some((r) => r.status === 'RUNNING');
  return page(
    filter.mine ? 'Runs awaiting my approval' : 'Runs',
    ctx.viewer,
    html`<form method="get" action="/console/" aria-label="Filter runs">
        <label for="f-pipeline">Pipeline</label
        ><input id="f-pipeline" name="pipeline" value="${filter.pipeline}" />
        <label for="f-model">Model</label><input id="f-model" name="model" value="${filter.model}" />
        <label for="f-stage">Stage</label><input id="f-stage" name="stage" value="${filter.stage}" />
        <label
          ><input type="checkbox" name="mine" value="1" ${filter.mine ? html`checked` : ''} /> Awaiting my
          approval</label
        >
        <button type="submit">Filter</button>
      </form>
      <section aria-live="polite" id="live" data-poll="${live ? pollUrl(filter) : ''}">${table}</section>`,
    ['poll.js'],
  );
}

function runsTable(runs: RunSummary[], mine: boolean) {
  if (runs.length === 0) {
    return html`<p>${mine ? 'No run is waiting for your approval.' : 'No runs match.'}</p>`;
  }
  return html`<table>
    <caption>
      ${runs.length} run(s), newest first
    </caption>
    <thead>
      <tr>
        <th scope="col">Run</th>
        <th scope="col">Pipeline</th>
        <th scope="col">Status</th>
        <th scope="col">Stage</th>
        <th scope="col">Approval</th>
        <th scope="col">Trigger</th>
        <th scope="col">Started</th>
      </tr>
    </thead>
    <tbody>
      ${runs.map(
        (r) =>
          html`<tr data-run="${r.workflowId}">
            <td><a href="/console/runs/${encodeURIComponent(r.workflowId)}">${r.workflowId}</a></td>
            <td>${r.pipeline}</td>
            <td class="state-${r.status}">${r.status}</td>
            <td>${r.stage}</td>
            <td class="state-${r.approval ?? ''}">
              ${
                r.approval === 'awaiting' && r.status === 'RUNNING'
                  ? html`<a href="/console/runs/${encodeURIComponent(r.workflowId)}/approval"
                      >awaiting: open the approval</a
                    >`
                  : r.approval
              }
            </td>
            <td>${r.trigger}</td>
            <td>${r.startTime}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** Runs whose open gate lists the viewer as eligible and not excluded. */
async function awaitingMe(ctx: ConsoleContext, runs: RunSummary[]): Promise<RunSummary[]> {
  const mine: RunSummary[] = [];
  for (const run of runs) {
    const report = await runReport(ctx.client, ctx.config.temporal.namespace, run.workflowId);
    const gate = report.status?.approvals.find((g) => g.state === 'awaiting');
    if (gate && gate.eligible.includes(ctx.viewer.identity) && !gate.excluded.includes(ctx.viewer.identity)) {
      mine.push(run);
    }
  }
  return mine;
}

function pollUrl(filter: {
  pipeline?: string | undefined;
  model?: string | undefined;
  stage?: string | undefined;
  mine: boolean;
}): string {
  const params = new URLSearchParams({ fragment: '1' });
  if (filter.pipeline) params.set('pipeline', filter.pipeline);
  if (filter.model) params.set('model', filter.model);
  if (filter.stage) params.set('stage', filter.stage);
  if (filter.mine) params.set('mine', '1');
  return `/console/?${params.toString()}`;
}
