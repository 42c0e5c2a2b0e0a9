import { runReport } from '../../../client/run-queries.js';
import { approvalPayloadFormat } from '../../../pipelines/signing.js';
import { html, jsonForScript, type SafeHtml } from '../escape.js';
import { jsonView, page, refusal } from '../layout.js';
import type { ConsoleContext } from '../routes.js';

/**
 * The approval view: what the gate shows the approver (model card, metrics with intervals against
 * production, slices — the gate's subject), exactly what a signature covers, and the decision form.
 * Signing happens in the browser (`sign.js`, WebCrypto Ed25519) with a key the server never sees.
 */
export async function approvalPage(ctx: ConsoleContext, runId: string): Promise<string> {
  const report = await runReport(ctx.client, ctx.config.temporal.namespace, runId);
  const gate = report.status?.approvals.find((g) => g.state === 'awaiting');
  const id = encodeURIComponent(runId);
  const title = `Approval of ${runId}`;
  if (!report.status) {
    return page(
      title,
      ctx.viewer,
      refusal(
        'No worker answers',
        'Start a worker (`sluice worker`) so the gate can show what it waits for.',
      ),
    );
  }
  if (!gate) {
    const done = report.status.approvals.at(-1);
    return page(
      title,
      ctx.viewer,
      html`<p>
        This run is not waiting for approval${done ? html` (gate ${done.step} is ${done.state})` : ''}.
        <a href="/console/runs/${id}">Open the run</a>.
      </p>`,
    );
  }
  const temporalRunId = (await ctx.client.workflow.getHandle(runId).describe()).runId;
  const me = ctx.viewer.identity;
  const claim = {
    format: approvalPayloadFormat,
    workflowId: runId,
    runId: temporalRunId,
    gate: gate.step,
    modelVersion: gate.modelVersion,
    metricsDigest: gate.metricsDigest,
    approver: me,
    signed: gate.policy.signed === true,
  };
  const template = `["${approvalPayloadFormat}", workflowId, runId, gate, modelVersion, metricsDigest, approver, decision, at, comment, keyId]`;
  const canDecide = ctx.viewer.roles.includes('approver');
  const eligibility = gate.excluded.includes(me)
    ? `You (${me}) are excluded from this gate (you started the run or own the pipeline): the gate will refuse your decision.`
    : gate.eligible.includes(me)
      ? `You (${me}) are an eligible approver.`
      : `You (${me}) are not among this gate's approvers (${gate.eligible.join(', ')}): the gate will refuse your decision.`;
  return page(
    title,
    ctx.viewer,
    html`<p>
        <a href="/console/runs/${id}">Back to the run</a> ·
        <a href="/console/runs/${id}/audit">Audit report</a>
      </p>
      <p>
        Gate <strong>${gate.step}</strong> waits for ${gate.policy.quorum} approval(s) of model version
        <strong>${gate.modelVersion}</strong>; deadline ${gate.deadline}. ${eligibility}
      </p>
      <h2>What you are asked to approve</h2>
      ${subjectSections(gate.subject)}
      <h2>Exactly what is signed</h2>
      <p>
        Your decision is signed over this canonical text (UTF-8, ${approvalPayloadFormat}); <em>at</em> and
        <em>keyId</em> are filled in when you sign:
      </p>
      <pre class="payload">${template}</pre>
      <table>
        <tbody>
          <tr>
            <th scope="row">workflowId</th>
            <td><code>${claim.workflowId}</code></td>
          </tr>
          <tr>
            <th scope="row">runId</th>
            <td><code>${claim.runId}</code></td>
          </tr>
          <tr>
            <th scope="row">gate</th>
            <td><code>${claim.gate}</code></td>
          </tr>
          <tr>
            <th scope="row">modelVersion</th>
            <td><code>${claim.modelVersion}</code></td>
          </tr>
          <tr>
            <th scope="row">metricsDigest</th>
            <td><code>${claim.metricsDigest}</code></td>
          </tr>
          <tr>
            <th scope="row">approver</th>
            <td><code>${claim.approver}</code></td>
          </tr>
        </tbody>
      </table>
      <p>Signed text of your last attempt: <code id="signed-payload">(not signed yet)</code></p>
      <script type="application/json" id="claim">
        ${jsonForScript(claim)}
      </script>
      ${
        canDecide
          ? decisionForm(ctx, id, claim.signed)
          : html`<div class="refusal" role="note">
              <p>
                You (${me}) hold ${ctx.viewer.roles.join(', ')}; deciding an approval needs a token with role
                <strong>approver</strong>. Ask for one with
                <code>sluice token create --identity ${me} --role approver</code>.
              </p>
            </div>`
      }
      <div id="outcome" tabindex="-1" role="status" aria-live="polite"></div>
      ${
        gate.refused.length
          ? html`<h2>Refused attempts on this gate</h2>
              <ul>
                ${gate.refused.map((r) => html`<li>${r.approver} (${r.channel}, ${r.at}): ${r.reason}</li>`)}
              </ul>`
          : ''
      }`,
    ['sign.js'],
  );
}

function decisionForm(ctx: ConsoleContext, id: string, signed: boolean): SafeHtml {
  return html`<form id="decide" method="post" action="/console/runs/${id}/decide">
    <input type="hidden" name="csrf" value="${ctx.viewer.csrf}" />
    <fieldset>
      <legend>Your signing key ${signed ? '(required by this gate)' : '(optional here)'}</legend>
      <p>The private key stays in this browser: it signs here and is never sent.</p>
      <label for="key-file">Private key file (PEM, from <code>sluice keys create</code>)</label>
      <input id="key-file" type="file" accept=".pem,.key,text/plain" />
      <label for="key-text">…or paste it</label>
      <textarea id="key-text" rows="4" cols="70" spellcheck="false" autocomplete="off"></textarea>
    </fieldset>
    <label for="comment">Comment (recorded in the history and signed)</label>
    <textarea id="comment" name="comment" rows="3" cols="70"></textarea>
    <p>
      <button type="submit" name="decision" value="approve">Approve</button>
      <button type="submit" name="decision" value="reject">Reject</button>
    </p>
  </form>`;
}

/** The gate's subject: each top-level part (model card, metrics, slices…) under its own heading. */
function subjectSections(subject: unknown): SafeHtml {
  if (subject === null || typeof subject !== 'object' || Array.isArray(subject)) return jsonView(subject);
  return html`${Object.entries(subject as Record<string, unknown>).map(
    ([key, value]) =>
      html`<section aria-label="${key}">
        <h3>${labelOf(key)}</h3>
        ${jsonView(value)}
      </section>`,
  )}`;
}

function labelOf(key: string): string {
  const spaced = key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]/g, ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}
