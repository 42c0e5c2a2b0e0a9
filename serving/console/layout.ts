import { html, type HtmlPart, type SafeHtml } from './escape.js';

/** Who is looking at a page (absent on the login page). */
export interface Viewer {
  identity: string;
  roles: readonly string[];
  csrf: string;
}

const style = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafafa}
header{background:#12355b;color:#fff;padding:.5rem 1rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
header a{color:#fff}header nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}
header form{margin-left:auto}main{padding:1rem 1.5rem;max-width:75rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef}td.num{text-align:right;font-variant-numeric:tabular-nums}
.state-succeeded,.state-approved,.state-COMPLETED{color:#176e2c}.state-failed,.state-rejected,.state-FAILED,.state-refused{color:#a4161a}
.state-running,.state-awaiting,.state-RUNNING{color:#8a5a00}
tr.differs td{background:#fff4cc}.refusal,.error{border-left:4px solid #a4161a;background:#fde8e8;padding:.5rem 1rem}
.notice{border-left:4px solid #176e2c;background:#e7f6ea;padding:.5rem 1rem}
pre.payload{white-space:pre-wrap;word-break:break-all;background:#f0f0f4;padding:.5rem;border:1px solid #ccd}
label{display:block;margin:.5rem 0 .2rem;font-weight:600}fieldset{border:1px solid #ccd;margin:1rem 0}
button{font:inherit;padding:.3rem .9rem;margin:.25rem .5rem .25rem 0}
:focus-visible{outline:3px solid #f7b500;outline-offset:2px}
.dag{display:flex;gap:.5rem;flex-wrap:wrap;list-style:none;padding:0}.dag li{border:1px solid #99a;border-radius:4px;padding:.3rem .6rem;background:#fff}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;color:#000;padding:.5rem}
`;

/** The page frame: skip link, navigation, who is logged in, a logout form with the CSRF token. */
export function page(title: string, viewer: Viewer | null, body: HtmlPart, scripts: string[] = []): string {
  const nav: SafeHtml | string = viewer
    ? html`<nav aria-label="Console">
          <ul>
            <li><a href="/console/">Runs</a></li>
            <li><a href="/console/?mine=1">Awaiting my approval</a></li>
            <li><a href="/console/registry">Registry</a></li>
            <li><a href="/console/compare">Compare runs</a></li>
          </ul>
        </nav>
        <form method="post" action="/console/logout">
          <span>${viewer.identity}${viewer.roles.length ? ` (${viewer.roles.join(', ')})` : ''}</span>
          <input type="hidden" name="csrf" value="${viewer.csrf}" />
          <button type="submit">Log out</button>
        </form>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Sluice console</title>
        <style>
          ${style}
        </style>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header><strong>Sluice console</strong>${nav}</header>
        <main id="main">
          <h1>${title}</h1>
          ${body}
        </main>
        ${scripts.map((s) => html`<script src="/console/assets/${s}" defer></script>`)}
      </body>
    </html>`.text;
}

/** A refusal or error, shown in words (role missing, CSRF forged, the gate's own reason…). */
export function refusal(title: string, message: string): SafeHtml {
  return html`<div class="refusal" role="alert">
    <h2>${title}</h2>
    <p>${message}</p>
  </div>`;
}

/** Any JSON value as nested definition tables (the approval subject, step outputs): all escaped. */
export function jsonView(value: unknown, depth = 0): SafeHtml {
  if (value === null || value === undefined) return html`<span>—</span>`;
  if (typeof value !== 'object') {
    return typeof value === 'number'
      ? html`<span class="num">${formatNumber(value)}</span>`
      : html`${typeof value === 'string' ? value : JSON.stringify(value)}`;
  }
  if (depth > 5) return html`<code>${JSON.stringify(value).slice(0, 400)}</code>`;
  if (Array.isArray(value)) {
    if (value.length === 0) return html`<span>(none)</span>`;
    if (value.every((v) => typeof v !== 'object' || v === null))
      return html`${value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`;
    return html`<ol>
      ${value.slice(0, 50).map((v) => html`<li>${jsonView(v, depth + 1)}</li>`)}
    </ol>`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return html`<span>(empty)</span>`;
  return html`<table>
    <tbody>
      ${entries.map(
        ([k, v]) =>
          html`<tr>
            <th scope="row">${k}</th>
            <td>${jsonView(v, depth + 1)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
