import { createReadStream } from 'node:fs';
import { InvalidInputError } from '../../pipelines/errors.js';

/** The header as written: each field's text, and whether a quote opened in it never closed. */
export interface CsvHeader {
  names: string[];
  /** The 1-based column whose quote does not close on the header line, if any. */
  unclosedQuote?: number;
}

/**
 * Split a header line into names, honouring quotes (`""` is a quote inside a quoted name). A quote
 * that opens a field and does not close before the line ends is reported, not swallowed.
 */
export function parseCsvHeader(line: string, delimiter: string, quote: string): CsvHeader {
  const names: string[] = [];
  let i = 0;
  for (;;) {
    let name = '';
    if (quote !== '' && line.startsWith(quote, i)) {
      i += quote.length;
      let closed = false;
      while (i < line.length) {
        if (line.startsWith(quote + quote, i)) {
          name += quote;
          i += 2 * quote.length;
        } else if (line.startsWith(quote, i)) {
          i += quote.length;
          closed = true;
          break;
        } else name += line[i++];
      }
      if (!closed) return { names: [...names, name], unclosedQuote: names.length + 1 };
      const end = line.indexOf(delimiter, i);
      name += end === -1 ? line.slice(i) : line.slice(i, end);
      i = end === -1 ? line.length : end;
    } else {
      const end = line.indexOf(delimiter, i);
      name = end === -1 ? line.slice(i) : line.slice(i, end);
      i = end === -1 ? line.length : end;
    }
    names.push(name.trim());
    if (i >= line.length) return { names };
    i += delimiter.length;
  }
}

/**
 * Refuse a header that DuckDB would silently change: a name given twice (case-insensitively, as SQL
 * compares them — DuckDB renames the second `a_1`) or a quote that never closes (DuckDB keeps the quote
 * characters in the names). Each error names the source, the columns and the fix.
 *
 * @throws InvalidInputError
 */
export async function checkCsvHeader(
  source: string,
  path: string,
  dialect: { delimiter: string; quote: string; skip: number },
): Promise<void> {
  const line = await headerLine(path, dialect.skip);
  if (line === undefined) return;
  const header = parseCsvHeader(line, dialect.delimiter, dialect.quote || '"');
  const lineNo = dialect.skip + 1;
  if (header.unclosedQuote !== undefined) {
    const column = header.unclosedQuote;
    throw new InvalidInputError(
      `source ${source} line ${lineNo} (the header): the quote that opens column ${column} (${JSON.stringify((dialect.quote || '"') + (header.names[column - 1] ?? ''))}) never closes on that line, so the names would keep their quote characters: close the quote or remove it`,
      { details: { source, line: lineNo, column } },
    );
  }
  const seen = new Map<string, number>();
  for (const [index, name] of header.names.entries()) {
    const key = name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      const what =
        header.names[first] === name ? `"${name}" twice` : `"${header.names[first]}" and "${name}"`;
      throw new InvalidInputError(
        `source ${source} line ${lineNo} (the header) names ${what} (columns ${first + 1} and ${index + 1}; SQL names ignore case), and DuckDB would silently rename the second: give each column its own name in the file`,
        { details: { source, line: lineNo, columns: [first + 1, index + 1], name } },
      );
    }
    seen.set(key, index);
  }
}

/** The physical line after `skip` lines (without its line break), read from the first 1 MiB. */
async function headerLine(path: string, skip: number): Promise<string | undefined> {
  const stream = createReadStream(path, { encoding: 'utf8', start: 0, end: 1_048_575 });
  let text = '';
  try {
    for await (const piece of stream) {
      text += piece as string;
      if (text.split('\n').length > skip + 1) break;
    }
  } finally {
    stream.destroy();
  }
  const line = text.replace(/^\uFEFF/, '').split('\n')[skip];
  return line?.replace(/\r$/, '');
}
