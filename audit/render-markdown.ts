import { cellText, type Block, type Cell } from './report-blocks.js';

/** Render report blocks as GitHub-flavoured Markdown (tables, call-outs as block quotes). */
export function renderMarkdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case 'heading':
        out.push(`${'#'.repeat(block.level)} ${escapeText(block.text)}`);
        break;
      case 'paragraph':
        // Paragraphs may quote commands as `code`: keep backticks, escape the rest.
        out.push(
          block.text
            .split('`')
            .map((part, i) => (i % 2 ? part : escapeText(part)))
            .join('`'),
        );
        break;
      case 'facts':
        out.push(
          table(
            ['', ''],
            block.rows.map(([key, value]) => [`**${escapeCell(key)}**`, cell(value)]),
          ),
        );
        break;
      case 'table':
        out.push(
          block.rows.length === 0
            ? `_${escapeText(block.empty)}_`
            : table(
                block.head.map(escapeCell),
                block.rows.map((row) => row.map(cell)),
              ),
        );
        break;
      case 'list':
        out.push(block.items.map((item) => `- ${cell(item)}`).join('\n'));
        break;
      case 'callout': {
        const mark = { good: '✅', bad: '⛔', warn: '⚠️', info: 'ℹ️' }[block.tone];
        out.push(`> ${mark} **${escapeText(block.title)}** ${escapeText(block.text)}`);
        break;
      }
    }
  }
  return `${out.join('\n\n')}\n`;
}

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function cell(value: Cell): string {
  const text = escapeCell(cellText(value));
  if (typeof value === 'string') return text;
  const shown = value.mono
    ? `\`${cellText(value).replace(/`/g, "'").replace(/\|/g, '\\|')}\``
    : value.tone === 'bad'
      ? `**${text}**`
      : text;
  return value.href ? `[${shown}](${value.href.replace(/\)/g, '%29')})` : shown;
}

function escapeCell(text: string): string {
  return escapeText(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** Keep recorded text (comments, reasons) from being read as Markdown or HTML. */
function escapeText(text: string): string {
  return text.replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;')).replace(/([*_`[\]\\])/g, '\\$1');
}
