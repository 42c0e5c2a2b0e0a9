import { runReport } from '../../../client/run-queries.js';
import type { ApprovalGateStatus } from '../../../pipelines/approval.js';
import type { StepStatus } from '../../../workflows/index.js';
import { html, type SafeHtml } from '../escape.js';
import { duration, jsonView, page } from '../layout.js';
import type { ConsoleContext } from '../routes.js';

type Query = Record<string, string | string[] | undefined>;

/**
 * One run: the DAG with each step's state, timing and cache hit, gates with their reasons, approvals
 * (decisions and refused attempts, comments escaped), parameters and data hashes. The status section
 * refreshes itself while the run goes on.
 */
export async function runPage(ctx: ConsoleContext, runId: string, query: Query): Promise<string> {
  const report = await runReport(ctx.client, ctx.config.temporal.namespace, runId);
  const status = report.status;
  const id = encodeURIComponent(runId);
  const section = html`<p>
      Temporal state: <strong class="state-${report.temporalState}">${report.temporalState}</strong>${
        status ? html`; run state: <strong class="state-${status.state}">${status.state}</strong>` : ''
      }
    </p>
    ${
      status
        ? html`${dag(status.steps)}${stepsTable(status.steps)}
            <h2>Gates</h2>
            ${
              status.gates.length === 0
                ? html`<p>No gate decided yet.</p>`
                : html`<ul>
                    ${status.gates.map(
                      (g) =>
                        html`<li>
                          <strong>${g.step}</strong> (${g.gate}):
                          <span class="state-${g.passed ? 'succeeded' : 'failed'}"
                            >${g.passed ? 'passed' : 'did not pass'}</span
                          >
                          <ul>
                            ${g.reasons.map((r) => html`<li>${r}</li>`)}
                          </ul>
                        </li>`,
                    )}
                  </ul>`
            }
            <h2>Approvals</h2>
            ${status.approvals.length === 0 ? html`<p>This run has no approval gate.</p>` : status.approvals.map((g) => approvals(g, id))}`
        : html`<p class="refusal">
            No worker answered the status query: only what the server knows is shown. Start a worker (<code
              >sluice worker</code
            >) for steps and gates.
          </p>`
    }`;
  if (query['fragment'] === '1') return section.text;
  const live = report.temporalState === 'RUNNING';
  return page(
    `Run ${runId}`,
    ctx.viewer,
    html`<p>
        <a href="/console/runs/${id}/audit">Audit report</a>${
          status
            ? html` ·
                <a href="/console/compare?pipeline=${encodeURIComponent(status.pipeline)}"
                  >Compare runs of ${status.pipeline}</a
                >`
            : ''
        }
      </p>
      <table>
        <tbody>
          <tr>
            <th scope="row">Pipeline</th>
            <td>${status?.pipeline}</td>
          </tr>
          <tr>
            <th scope="row">Started</th>
            <td>
              ${report.startTime.toISOString()}${status ? html` by ${status.startedBy} (${status.trigger})` : ''}
            </td>
          </tr>
          <tr>
            <th scope="row">Finished</th>
            <td>${report.closeTime?.toISOString() ?? '—'}</td>
          </tr>
          ${
            status?.rerunOf
              ? html`<tr>
                  <th scope="row">Rerun of</th>
                  <td>${status.rerunOf.of}</td>
                </tr>`
              : ''
          }
        </tbody>
      </table>
      <h2>Parameters</h2>
      ${jsonView(status?.runParams ?? {})}
      <h2>Status</h2>
      <section id="live" aria-live="polite" data-poll="${live ? `/console/runs/${id}?fragment=1` : ''}">
        ${section}
      </section>
      ${
        status
          ? html`<h2>Data hashes</h2>
              ${dataHashes(status.steps)}`
          : ''
      }`,
    ['poll.js'],
  );
}

function dag(steps: StepStatus[]): SafeHtml {
  return html`<h2>Steps</h2>
    <ol class="dag" aria-label="Pipeline steps in order">
      ${steps.map(
        (s) =>
          html`<li>
            <strong>${s.id}</strong><br /><span class="state-${s.state}">${s.state}</span>${
              s.needs.length ? html`<br /><small>after ${s.needs.join(', ')}</small>` : ''
            }
          </li>`,
      )}
    </ol>`;
}

function stepsTable(steps: StepStatus[]): SafeHtml {
  return html`<table>
    <caption>
      Steps: state, timing, cache
    </caption>
    <thead>
      <tr>
        <th scope="col">Step</th>
        <th scope="col">Activity</th>
        <th scope="col">State</th>
        <th scope="col">Duration</th>
        <th scope="col">Attempt</th>
        <th scope="col">Cache</th>
        <th scope="col">Note</th>
      </tr>
    </thead>
    <tbody>
      ${steps.map(
        (s) =>
          html`<tr>
            <th scope="row">${s.id}</th>
            <td>${s.activity}</td>
            <td class="state-${s.state}">${s.state}</td>
            <td class="num">${duration(s.durationMs)}</td>
            <td class="num">${s.attempt}</td>
            <td>
              ${s.cache ? (s.cache.hit ? `hit${s.cache.from ? ` (from ${s.cache.from})` : ''}` : 'miss') : '—'}
            </td>
            <td>${s.error ? `${s.error.type}: ${s.error.message}` : (s.skippedReason ?? '')}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function approvals(gate: ApprovalGateStatus, id: string): SafeHtml {
  return html`<section aria-label="Approval gate ${gate.step}">
    <h3>Gate ${gate.step}: <span class="state-${gate.state}">${gate.state}</span></h3>
    <p>
      Model version ${gate.modelVersion}; metrics digest <code>${gate.metricsDigest}</code>;
      ${gate.policy.signed ? 'signed decisions required' : 'signatures optional'}; eligible:
      ${gate.eligible.join(', ')}; excluded: ${gate.excluded.join(', ') || 'nobody'}; deadline
      ${gate.deadline}.
    </p>
    ${gate.state === 'awaiting' ? html`<p><a href="/console/runs/${id}/approval">Open the approval view</a></p>` : ''}
    <table>
      <caption>
        Decisions
      </caption>
      <thead>
        <tr>
          <th scope="col">Who</th>
          <th scope="col">Decision</th>
          <th scope="col">When</th>
          <th scope="col">Channel</th>
          <th scope="col">Signed with</th>
          <th scope="col">Comment</th>
        </tr>
      </thead>
      <tbody>
        ${
          gate.decisions.length === 0
            ? html`<tr>
                <td colspan="6">none yet</td>
              </tr>`
            : gate.decisions.map(
                (d) =>
                  html`<tr>
                    <td>${d.approver}</td>
                    <td class="state-${d.decision === 'approve' ? 'approved' : 'rejected'}">${d.decision}</td>
                    <td>${d.at}</td>
                    <td>${d.channel}</td>
                    <td>${d.signature?.keyId ?? 'unsigned'}</td>
                    <td class="comment">${d.comment}</td>
                  </tr>`,
              )
        }
      </tbody>
    </table>
    ${
      gate.refused.length
        ? html`<table>
            <caption>
              Refused attempts (recorded)
            </caption>
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Decision</th>
                <th scope="col">When</th>
                <th scope="col">Channel</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              ${gate.refused.map(
                (r) =>
                  html`<tr>
                    <td>${r.approver}</td>
                    <td>${r.decision}</td>
                    <td>${r.at}</td>
                    <td>${r.channel}</td>
                    <td>${r.reason}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : ''
    }
  </section>`;
}

/** Every sha256-looking value in the step outputs: the data and artifacts this run read and wrote. */
function dataHashes(steps: StepStatus[]): SafeHtml {
  const rows: [string, string][] = [];
  const walk = (value: unknown, path: string) => {
    if (rows.length >= 60) return;
    if (typeof value === 'string' && /^(sha256:)?[0-9a-f]{64}$/.test(value)) rows.push([path, value]);
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(v, `${path}.${k}`);
    }
  };
  for (const s of steps) walk(s.output, s.id);
  if (rows.length === 0) return html`<p>No data hashes recorded yet.</p>`;
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Where</th>
        <th scope="col">SHA-256</th>
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        ([where, hash]) =>
          html`<tr>
            <td>${where}</td>
            <td><code>${hash}</code></td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}
