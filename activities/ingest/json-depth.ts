import { createReadStream } from 'node:fs';
import { InvalidInputError } from '../../pipelines/errors.js';

/**
 * Deepest nesting of `[` and `{` a JSON or NDJSON source may have. DuckDB's JSON reader recurses once
 * per level, natively: a document some ten thousand levels deep overflows its stack and kills the whole
 * process (the worker, with every other activity on it). Real datasets nest a handful of levels.
 */
export const maxJsonDepth = 256;

/**
 * Tracks JSON nesting depth across the chunks of a streamed file, outside strings (a bracket inside
 * `"…"`, or escaped there, does not count), and remembers the first byte that goes past `limit`.
 */
export class JsonDepthTracker {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private consumed = 0;
  /** Byte offset of the first bracket that opened level `limit + 1`, if any. */
  tooDeepAt: number | undefined;

  constructor(private readonly limit: number = maxJsonDepth) {}

  feed(chunk: Uint8Array): void {
    if (this.tooDeepAt !== undefined) return;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === 0x5c) this.escaped = true;
        else if (byte === 0x22) this.inString = false;
      } else if (byte === 0x22) {
        this.inString = true;
      } else if (byte === 0x5b || byte === 0x7b) {
        this.depth += 1;
        if (this.depth > this.limit) {
          this.tooDeepAt = this.consumed + i;
          return;
        }
      } else if ((byte === 0x5d || byte === 0x7d) && this.depth > 0) {
        this.depth -= 1;
      }
    }
    this.consumed += chunk.length;
  }
}

/**
 * Refuse a JSON or NDJSON file (by extension: `.json`, `.ndjson`, `.jsonl`) nested deeper than
 * {@link maxJsonDepth}, before DuckDB reads it: for the steps that read raw files themselves (profile,
 * statistics, validation, drift, training and evaluation from a path) rather than through ingest,
 * whose preflight does the same check in its single pass.
 *
 * @throws InvalidInputError naming the source, the line and column, and the fix.
 */
export async function refuseDeepJson(source: string, path: string): Promise<void> {
  if (!/\.(json|ndjson|jsonl)$/i.test(path)) return;
  const tracker = new JsonDepthTracker();
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) {
      tracker.feed(chunk as Buffer);
      if (tracker.tooDeepAt !== undefined) break;
    }
  } finally {
    stream.destroy();
  }
  const at = tracker.tooDeepAt;
  if (at === undefined) return;
  const { line, column } = await lineAndColumn(path, at);
  throw new InvalidInputError(
    `source ${source} nests arrays or objects more than ${maxJsonDepth} levels deep (line ${line}, column ${column}): ` +
      'a dataset is rows of flat or shallow records; flatten it, or fix the program that wrote it',
    { details: { source, line, column, limit: maxJsonDepth } },
  );
}

/** 1-based line and byte column of `offset` in a file, by counting newlines up to it (error paths only). */
export async function lineAndColumn(path: string, offset: number): Promise<{ line: number; column: number }> {
  let line = 1;
  let lineStart = 0;
  let position = 0;
  if (offset > 0) {
    for await (const piece of createReadStream(path, { end: offset - 1, highWaterMark: 1 << 20 })) {
      const chunk = piece as Buffer;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) {
        line += 1;
        lineStart = position + at + 1;
      }
      position += chunk.length;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
