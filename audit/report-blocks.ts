/**
 * The audit report as a document of plain blocks (headings, facts, tables, lists, call-outs), built
 * once from the report data and rendered to Markdown or HTML. Both renderings therefore say exactly
 * the same things in the same order; only the typography differs.
 */

/** How a cell or call-out should read: a verdict that passed, failed, needs attention, or just is. */
export type Tone = 'good' | 'bad' | 'warn' | 'info';

/**
 * A table cell or fact value: text, optionally a link, monospaced (hashes, ids), kept on one line
 * (times, durations) or with a tone. A newline in the text is a line break.
 */
export type Cell = string | { text: string; href?: string; mono?: boolean; nowrap?: boolean; tone?: Tone };

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'facts'; rows: [string, Cell][] }
  | { kind: 'table'; head: string[]; rows: Cell[][]; empty: string }
  | { kind: 'list'; items: Cell[] }
  | { kind: 'callout'; tone: Tone; title: string; text: string };

export function cellText(cell: Cell): string {
  return typeof cell === 'string' ? cell : cell.text;
}

/** A monospaced value (hash, id). */
export function mono(text: string, href?: string): Cell {
  return href ? { text, mono: true, href } : { text, mono: true };
}

/** A time or duration: never broken across lines. */
export function nowrap(text: string): Cell {
  return { text, nowrap: true };
}

/** A verdict word with its tone. */
export function tone(text: string, value: Tone): Cell {
  return { text, tone: value };
}
