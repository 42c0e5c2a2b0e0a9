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
