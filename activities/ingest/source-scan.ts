import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { JsonDepthTracker, lineAndColumn, maxJsonDepth } from './json-depth.js';

/** What one streamed pass over a source file learns before DuckDB is asked to read it. */
export interface SourceScan {
  sha256: string;
  bytes: number;
  /** The first (up to) 16 bytes: magic numbers and byte-order marks. */
  head: Buffer;
  /** The last (up to) 16 bytes: Parquet and Arrow files end with their magic too. */
  tail: Buffer;
  /** Whether any byte other than whitespace (and a UTF-8 BOM) occurs. */
  hasContent: boolean;
  /** For text scans: where the first byte that is not valid UTF-8 is, if any. */
  invalidUtf8?: { offset: number; line: number; column: number };
  /** For text scans: where the first NUL byte is, if any (text never holds one; binary data does). */
  nul?: { offset: number; line: number; column: number };
  /** For JSON scans: where nesting first goes deeper than {@link maxJsonDepth}, if it does. */
  tooDeep?: { offset: number; line: number; column: number; limit: number };
}

const whitespace = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Hash a source and check it in the same pass (a dataset is read once here, never held in memory):
 * sha256 and size for provenance, head/tail for magic numbers, and for text formats UTF-8 validity
 * with the exact line and column of the first bad byte, which DuckDB reports only approximately; for
 * JSON (`json`), the nesting depth, which DuckDB cannot survive past a few thousand levels.
 */
export async function scanSource(path: string, text: boolean, json = false): Promise<SourceScan> {
  const depth = json ? new JsonDepthTracker() : undefined;
  const hash = createHash('sha256');
  let bytes = 0;
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  let hasContent = false;
  let carry = Buffer.alloc(0);
  let invalidAt: number | undefined;
  let nulAt: number | undefined;

  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const chunk = piece as Buffer;
    hash.update(chunk);
    if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16 - head.length)]);
    tail = Buffer.concat([tail, chunk]).subarray(-16);
    if (!hasContent) hasContent = containsContent(chunk, bytes === 0);
    depth?.feed(chunk);
    if (text && nulAt === undefined) {
      const at = chunk.indexOf(0);
      if (at !== -1) nulAt = bytes + at;
    }
    if (text && invalidAt === undefined) {
      const window = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const windowStart = bytes - carry.length;
      const keep = incompleteTail(window);
      const body = window.subarray(0, window.length - keep);
      if (!isUtf8(body)) invalidAt = windowStart + firstInvalidUtf8(body);
      carry = Buffer.from(window.subarray(window.length - keep));
    }
    bytes += chunk.length;
  }
  // A multi-byte sequence cut off by the end of the file.
  if (text && invalidAt === undefined && carry.length > 0) invalidAt = bytes - carry.length;

  const scan: SourceScan = { sha256: hash.digest('hex'), bytes, head, tail, hasContent };
  if (invalidAt !== undefined)
    scan.invalidUtf8 = { offset: invalidAt, ...(await lineAndColumn(path, invalidAt)) };
  if (nulAt !== undefined) scan.nul = { offset: nulAt, ...(await lineAndColumn(path, nulAt)) };
  const deepAt = depth?.tooDeepAt;
  if (deepAt !== undefined)
    scan.tooDeep = { offset: deepAt, ...(await lineAndColumn(path, deepAt)), limit: maxJsonDepth };
  return scan;
}

function containsContent(chunk: Buffer, atStart: boolean): boolean {
  let i = atStart && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0;
  for (; i < chunk.length; i++) if (!whitespace.has(chunk[i]!)) return true;
  return false;
}

/** How many bytes at the end of `buf` start a multi-byte sequence that the next chunk completes. */
function incompleteTail(buf: Buffer): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const byte = buf[buf.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/**
 * Offset of the first byte of `buf` that breaks UTF-8 (RFC 3629: no overlongs, no surrogates, nothing
 * past U+10FFFF), or `buf.length` when the problem is a sequence cut off at the end.
 */
export function firstInvalidUtf8(buf: Uint8Array): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i]!;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let min: number;
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b === 0xe0) [need, min] = [2, 0xa0];
    else if (b === 0xed) [need, min, max] = [2, 0x80, 0x9f];
    else if (b >= 0xe1 && b <= 0xef) [need, min] = [2, 0x80];
    else if (b === 0xf0) [need, min] = [3, 0x90];
    else if (b >= 0xf1 && b <= 0xf3) [need, min] = [3, 0x80];
    else if (b === 0xf4) [need, min, max] = [3, 0x80, 0x8f];
    else return i;
    for (let k = 1; k <= need; k++) {
      const next = buf[i + k];
      if (next === undefined) return i;
      const [lo, hi] = k === 1 ? [min, max] : [0x80, 0xbf];
      if (next < lo || next > hi) return i;
    }
    i += need + 1;
  }
  return buf.length;
}
