import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** Where a JSON document first breaks, as a human counts: 1-based line and column. */
export interface JsonFault {
  line: number;
  column: number;
  /** The parser's reason, e.g. "Expected ',' or ']' after array element". */
  reason: string;
}

/** Documents larger than this are not re-parsed whole to locate a fault (DuckDB's position is used). */
const wholeDocumentLimit = 256 * 1024 * 1024;

/**
 * Find the first syntax error in a JSON (one document) or NDJSON (one document per line) file. Runs
 * only after DuckDB refused the file: DuckDB names a byte within a record, this names line and column.
 * A file whose first character is not `[` or `{` followed by more documents is read line by line.
 *
 * @returns `undefined` when JavaScript's parser accepts the file (DuckDB refused it for another reason).
 */
export async function locateJsonFault(path: string, ndjson: boolean): Promise<JsonFault | undefined> {
  if (!ndjson && (await stat(path)).size <= wholeDocumentLimit) {
    const text = await readFile(path, 'utf8');
    try {
      JSON.parse(text);
      return undefined;
    } catch (error) {
      const message = (error as Error).message;
      // Several documents, one per line (DuckDB's `auto` format accepts that): check each line.
      if (/non-whitespace character after JSON/.test(message)) return locateLineFault(path);
      return faultAt(text, message);
    }
  }
  return locateLineFault(path);
}

async function locateLineFault(path: string): Promise<JsonFault | undefined> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() === '') continue;
      try {
        JSON.parse(text);
      } catch (error) {
        const fault = faultAt(text, (error as Error).message);
        return { ...fault, line };
      }
    }
  } finally {
    lines.close();
  }
  return undefined;
}

/** Turn V8's "… in JSON at position N" into line and column; without a position, the end of `text`. */
function faultAt(text: string, message: string): JsonFault {
  const match = /at position (\d+)/.exec(message);
  const position = match ? Number(match[1]) : text.length;
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  const reason = message
    .replace(/\s*in JSON at position \d+.*$/, '')
    .replace(/,? ".*" is not valid JSON$/, '')
    .trim();
  return { line, column: position - lineStart + 1, reason };
}
