import { createReadStream } from 'node:fs';

/** Delimiters worth suggesting when a file does not split on the one it was read with. */
export const candidateDelimiters = [',', '\t', ';', '|'] as const;

/** How a delimiter is called in messages. */
export function delimiterName(delimiter: string): string {
  switch (delimiter) {
    case '\t':
      return 'tab';
    case ',':
      return 'comma';
    case ';':
      return 'semicolon';
    case '|':
      return 'pipe';
    default:
      return JSON.stringify(delimiter);
  }
}

export interface CsvShape {
  /** Fields in the first record (the header, when there is one). */
  expected: number;
  /** Records seen (blank lines are not records). */
  records: number;
  /** The first record with a different number of fields, by its starting physical line (1-based). */
  ragged?: { line: number; fields: number };
}

/**
 * Count fields per record, honouring quotes (a quoted delimiter or newline is data, `""` is a quote),
 * and stop at the first record whose count differs from the first one. Only runs on the error path:
 * DuckDB's sniffer hides an early ragged row by falling back to one column, and this finds its line.
 */
export async function scanCsvShape(path: string, delimiter: string, quote: string): Promise<CsvShape> {
  let expected = -1;
  let records = 0;
  let fields = 1;
  let line = 1;
  let recordLine = 1;
  let inQuotes = false;
  let pendingQuote = false; // saw a quote inside a quoted field: either "" or the closing quote
  let recordEmpty = true;

  const endRecord = (): CsvShape | undefined => {
    if (!recordEmpty) {
      records += 1;
      if (expected < 0) expected = fields;
      else if (fields !== expected) return { expected, records, ragged: { line: recordLine, fields } };
    }
    fields = 1;
    recordEmpty = true;
    return undefined;
  };

  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  try {
    for await (const piece of stream) {
      const text = piece as string;
      for (let i = 0; i < text.length; i++) {
        const ch = text[i]!;
        if (pendingQuote) {
          pendingQuote = false;
          if (ch === quote) continue; // "" inside quotes: a literal quote
          inQuotes = false; // the previous quote closed the field; fall through with this char
        }
        if (inQuotes) {
          if (ch === quote) pendingQuote = true;
          else if (ch === '\n') line += 1;
          continue;
        }
        if (ch === '\n') {
          const done = endRecord();
          if (done) return done;
          line += 1;
          recordLine = line;
        } else if (ch === '\r') {
          continue;
        } else if (ch === delimiter) {
          fields += 1;
          recordEmpty = false;
        } else if (quote !== '' && ch === quote) {
          inQuotes = true;
          recordEmpty = false;
        } else {
          recordEmpty = false;
        }
      }
    }
  } finally {
    stream.destroy();
  }
  return endRecord() ?? { expected: Math.max(expected, 0), records };
}

/**
 * The candidate delimiters that occur in the file's first line outside quotes, most frequent first:
 * evidence for "this file is not split by what you declared".
 */
export async function firstLineDelimiters(path: string, quote: string): Promise<string[]> {
  const stream = createReadStream(path, { encoding: 'utf8', start: 0, end: 65_535 });
  let text = '';
  try {
    for await (const piece of stream) text += piece as string;
  } finally {
    stream.destroy();
  }
  const counts = new Map<string, number>();
  let inQuotes = false;
  for (const ch of text) {
    if (ch === '\n') break;
    if (quote !== '' && ch === quote) inQuotes = !inQuotes;
    else if (!inQuotes && (candidateDelimiters as readonly string[]).includes(ch)) {
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([ch]) => ch);
}

/**
 * The first record longer than `limit` bytes, by its starting physical line (1-based), honouring quotes
 * (a quoted newline is data). Error path only: DuckDB names a bogus line when a row exceeds its
 * `max_line_size`, because the row breaks its dialect sniffing too.
 */
export async function firstLongRecord(
  path: string,
  quote: string,
  limit: number,
): Promise<{ line: number; bytes: number } | undefined> {
  const q = quote === '' ? -1 : quote.charCodeAt(0);
  let line = 1;
  let recordLine = 1;
  let recordStart = 0;
  let position = 0;
  let inQuotes = false;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const piece of stream) {
      const chunk = piece as Buffer;
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i]!;
        if (byte === q) inQuotes = !inQuotes;
        else if (byte === 10) {
          line += 1;
          if (inQuotes) continue;
          const end = position + i;
          if (end - recordStart > limit) return { line: recordLine, bytes: end - recordStart };
          recordStart = end + 1;
          recordLine = line;
        }
      }
      position += chunk.length;
    }
  } finally {
    stream.destroy();
  }
  return position - recordStart > limit ? { line: recordLine, bytes: position - recordStart } : undefined;
}
