import { cellText, type Block, type Cell } from './report-blocks.js';

/**
 * Render report blocks as one self-contained HTML page (inline CSS, no scripts, no network), readable
 * on screen and printable to PDF for a file. Every recorded string is escaped: comments and reasons
 * come from people and must never become markup.
 */
export function renderHtml(blocks: readonly Block[]): string {
  const title = blocks.find((b) => b.kind === 'heading')?.text ?? 'Audit report';
  const body = blocks.map(block).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(typeof title === 'string' ? title : 'Audit report')}</title>
<style>${style}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function block(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return `<h${b.level}>${escape(b.text)}</h${b.level}>`;
    case 'paragraph':
      return `<p>${inlineCode(escape(b.text))}</p>`;
    case 'facts':
      return `<table class="facts"><tbody>${b.rows
        .map(([key, value]) => `<tr><th scope="row">${escape(key)}</th><td>${cell(value)}</td></tr>`)
        .join('')}</tbody></table>`;
    case 'table':
      if (b.rows.length === 0) return b.empty ? `<p class="empty">${escape(b.empty)}</p>` : '';
      return `<div class="scroll"><table><thead><tr>${b.head.map((h) => `<th scope="col">${escape(h)}</th>`).join('')}</tr></thead><tbody>${b.rows
        .map((row) => `<tr>${row.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table></div>`;
    case 'list':
      return `<ul>${b.items.map((item) => `<li>${cell(item)}</li>`).join('')}</ul>`;
    case 'callout':
      return `<div class="callout ${b.tone}"><strong>${escape(b.title)}</strong> ${escape(b.text)}</div>`;
  }
}

function cell(value: Cell): string {
  const raw = cellText(value);
  // Long unbroken tokens (paths, URIs) may break anywhere; words and numbers never do.
  const text =
    /\S{36,}/.test(raw) && !(typeof value !== 'string' && value.mono)
      ? `<span class="break">${escape(raw).replace(/\n/g, '<br>')}</span>`
      : escape(raw).replace(/\n/g, '<br>');
  if (typeof value === 'string') return text;
  let html = value.mono ? `<code>${text}</code>` : text;
  if (value.nowrap) html = `<span class="nowrap">${html}</span>`;
  if (value.tone) html = `<span class="tone ${value.tone}">${html}</span>`;
  if (value.href && /^(file|https?):/.test(value.href)) html = `<a href="${escape(value.href)}">${html}</a>`;
  return html;
}

/** `like this` in a paragraph becomes code (commands the reader can run). */
function inlineCode(html: string): string {
  return html.replace(/`([^`]+)`/g, '<code>$1</code>');
}

function escape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

const style = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6472; --line: #d9dee7; --band: #f5f7fa;
  --good: #146c2e; --good-bg: #e7f5ec; --bad: #a1160a; --bad-bg: #fdecea; --warn: #8a5a00; --warn-bg: #fff5dc;
  --info: #1c4f8a; --info-bg: #e9f1fb; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 32px 64px; }
h1 { font-size: 26px; margin: 0 0 8px; }
h2 { font-size: 21px; margin: 40px 0 12px; padding-top: 16px; border-top: 3px solid var(--ink); }
h3 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p { margin: 8px 0; }
p.empty { color: var(--muted); font-style: italic; }
.scroll { overflow-x: auto; margin: 8px 0 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th, td { text-align: left; vertical-align: top; padding: 6px 9px; border-bottom: 1px solid var(--line); }
thead th { background: var(--band); font-weight: 600; white-space: nowrap; }
table.facts { width: auto; min-width: 60%; margin: 8px 0 12px; }
table.facts th { width: 260px; color: var(--muted); font-weight: 500; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
td code { white-space: nowrap; }
.break { overflow-wrap: anywhere; }
.nowrap { white-space: nowrap; }
a { color: var(--info); }
.tone { display: inline-block; padding: 0 7px; border-radius: 10px; font-weight: 600; }
.tone.good { color: var(--good); background: var(--good-bg); }
.tone.bad { color: var(--bad); background: var(--bad-bg); }
.tone.warn { color: var(--warn); background: var(--warn-bg); }
.tone.info { color: var(--info); background: var(--info-bg); }
.callout { margin: 12px 0; padding: 10px 14px; border-left: 5px solid; border-radius: 4px; }
.callout.good { border-color: var(--good); background: var(--good-bg); }
.callout.bad { border-color: var(--bad); background: var(--bad-bg); }
.callout.warn { border-color: var(--warn); background: var(--warn-bg); }
.callout.info { border-color: var(--info); background: var(--info-bg); }
ul { margin: 6px 0 12px; padding-left: 22px; }
@media print { main { max-width: none; padding: 0; } h2 { break-before: page; } .scroll { overflow: visible; } }
`;
