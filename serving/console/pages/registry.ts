import { answered, describeModel, listModels, modelHistory } from '../../../client/registry.js';
import { html, type SafeHtml } from '../escape.js';
import { jsonView, page } from '../layout.js';
import type { ConsoleContext } from '../routes.js';

/** The registry: every model with its aliases. */
export async function registryPage(ctx: ConsoleContext): Promise<string> {
  const models = await listModels(ctx.client);
  return page(
    'Model registry',
    ctx.viewer,
    models.length === 0
      ? html`<p>No model is registered yet: a pipeline registers one when its approval gate passes.</p>`
      : html`<table>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Versions</th>
              <th scope="col">Production</th>
              <th scope="col">Candidate</th>
              <th scope="col">Previous</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            ${models.map(
              (m) =>
                html`<tr>
                  <td><a href="/console/registry/${encodeURIComponent(m.model)}">${m.model}</a></td>
                  <td class="num">${m.versions}</td>
                  <td class="num">${m.aliases.production}</td>
                  <td class="num">${m.aliases.candidate}</td>
                  <td class="num">${m.aliases.previous}</td>
                  <td>${m.updatedAt}</td>
                </tr>`,
            )}
          </tbody>
        </table>`,
  );
}

/** One model: versions with lineage (run, data, approvals, metrics), aliases, events; promote/rollback for promoters. */
export async function modelPage(
  ctx: ConsoleContext,
  model: string,
  done: string | undefined,
): Promise<string> {
  const description = await answered(ctx.client, ctx.config, model, 'query', () =>
    describeModel(ctx.client, model),
  );
  const events = await answered(ctx.client, ctx.config, model, 'query', () =>
    modelHistory(ctx.client, model),
  );
  const m = encodeURIComponent(model);
  const { aliases } = description;
  return page(
    `Model ${model}`,
    ctx.viewer,
    html`${done ? html`<p class="notice" role="status">${done === 'promote' ? 'Promoted' : 'Rolled back'}; recorded in the registry's history.</p>` : ''}
      <p>
        Production: <strong>${aliases.production ?? 'none'}</strong> · candidate:
        ${aliases.candidate ?? 'none'} · previous: ${aliases.previous ?? 'none'}
      </p>
      <h2>Versions</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Registered</th>
            <th scope="col">Run</th>
            <th scope="col">Data</th>
            <th scope="col">Approvals</th>
            <th scope="col">Metrics</th>
          </tr>
        </thead>
        <tbody>
          ${description.versions.map(
            (v) =>
              html`<tr>
                <th scope="row">${v.version}</th>
                <td>${v.registeredAt} by ${v.registeredBy}</td>
                <td>
                  <a href="/console/runs/${encodeURIComponent(v.workflowId)}">${v.workflowId}</a>
                  (${v.pipeline})
                </td>
                <td>${v.dataSha256s.map((h) => html`<code>${h.slice(0, 12)}…</code> `)}</td>
                <td>
                  ${v.approvals.map((a) => html`<div>${a.approver}: ${a.decision}${a.comment ? html` — “${a.comment}”` : ''}</div>`)}
                </td>
                <td>${jsonView(v.metrics)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${
        ctx.viewer.roles.includes('promoter')
          ? actions(
              ctx,
              m,
              description.versions.map((v) => v.version),
            )
          : html`<p>Promoting and rolling back need a token with role <strong>promoter</strong>.</p>`
      }
      <h2>Events</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
          </tr>
        </thead>
        <tbody>
          ${events.map(
            (e) =>
              html`<tr>
                <td class="num">${e.seq}</td>
                <td>${e.at}</td>
                <td>${e.by}</td>
                <td>${describeEvent(e)}</td>
              </tr>`,
          )}
        </tbody>
      </table>`,
  );
}

function actions(ctx: ConsoleContext, m: string, versions: number[]): SafeHtml {
  return html`<h2>Promote or roll back</h2>
    <form method="post" action="/console/registry/${m}/promote">
      <fieldset>
        <legend>Promote a version to production</legend>
        <input type="hidden" name="csrf" value="${ctx.viewer.csrf}" />
        <label for="p-version">Version</label
        ><select id="p-version" name="version">
          ${versions.map((v) => html`<option>${v}</option>`)}
        </select>
        <label for="p-reason">Reason</label><input id="p-reason" name="reason" required size="60" />
        <button type="submit">Promote</button>
      </fieldset>
    </form>
    <form method="post" action="/console/registry/${m}/rollback">
      <fieldset>
        <legend>Roll back to the previous version</legend>
        <input type="hidden" name="csrf" value="${ctx.viewer.csrf}" />
        <label for="r-reason">Reason</label><input id="r-reason" name="reason" required size="60" />
        <button type="submit">Roll back</button>
      </fieldset>
    </form>`;
}

function describeEvent(e: Awaited<ReturnType<typeof modelHistory>>[number]): string {
  switch (e.type) {
    case 'registered':
      return `registered version ${e.version} from run ${e.workflowId}`;
    case 'promoted':
      return `promoted ${e.version} (from ${e.from ?? 'none'}) by ${e.authorisedBy}: ${e.reason}`;
    case 'rolled-back':
      return `rolled back from ${e.from} to ${e.version}: ${e.reason}`;
    case 'traffic':
      return `traffic for version ${e.version}: ${e.canaryPercent}% canary${e.shadow ? ', shadow' : ''}: ${e.reason}`;
    case 'refused':
      return `refused ${e.action}${e.version !== null ? ` of ${e.version}` : ''}: ${e.refusal}`;
  }
}
