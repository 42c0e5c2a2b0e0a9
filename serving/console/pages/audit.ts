import {
  buildAuditReport,
  collectHistories,
  decryptHistory,
  reportBlocks,
  requireKeys,
} from '../../../audit/index.js';
import { renderHtml } from '../../../audit/index.js';
import { html, trusted } from '../escape.js';
import { page } from '../layout.js';
import type { ConsoleContext } from '../routes.js';

/**
 * The audit report of any run, built from its history (with children and registries) exactly as
 * `sluice audit report` builds it; the report renderer escapes every recorded string itself.
 */
export async function auditPage(ctx: ConsoleContext, runId: string): Promise<string> {
  const { config } = ctx;
  const histories = await collectHistories(ctx.client, { runs: [runId] }, config.payloadKeys);
  const sources = histories.map((h) => ({
    source: `${config.temporal.address}/${config.temporal.namespace}: ${h.facts.workflowId}`,
    loaded: h.loaded,
    exported: null,
    sha256: null,
  }));
  requireKeys(sources, config.payloadKeys);
  const report = buildAuditReport(
    sources.map((s) => ({ ...s, loaded: decryptHistory(s.loaded, config.payloadKeys) })),
    {
      generatedAt: new Date().toISOString(),
      generatedBy: `Sluice console (${ctx.viewer.identity})`,
      export: null,
    },
  );
  const full = renderHtml(reportBlocks(report));
  const style = /<style>([\s\S]*?)<\/style>/.exec(full)?.[1] ?? '';
  const body = /<main>([\s\S]*)<\/main>/.exec(full)?.[1] ?? '';
  return page(
    `Audit report of ${runId}`,
    ctx.viewer,
    html`<p>
        <a href="/console/runs/${encodeURIComponent(runId)}">Back to the run</a>. For a file to keep:
        <code>sluice audit export ${runId} --out &lt;dir&gt;</code> (signed), then
        <code>sluice audit verify &lt;dir&gt;</code>.
      </p>
      <style>
        ${trusted(style.replace(/<\//g, ''))}
      </style>
      <article class="audit">${trusted(body)}</article>`,
  );
}
