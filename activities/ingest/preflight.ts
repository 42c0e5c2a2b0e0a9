import { InvalidInputError } from '../../pipelines/errors.js';
import { isTextFormat, type SourceFormat } from './format.js';
import type { SourceScan } from './source-scan.js';

const parquetMagic = Buffer.from('PAR1');
const arrowMagic = Buffer.from('ARROW1');
/** Arrow IPC stream format: each message starts with the 0xFFFFFFFF continuation marker. */
const arrowContinuation = Buffer.from([0xff, 0xff, 0xff, 0xff]);

/** Which flavour of Arrow IPC a file holds, from its first bytes. */
export type ArrowLayout = 'file' | 'stream';

/**
 * Refuse sources that cannot be a dataset before any parser runs, with the reason a human can act on:
 * empty, not UTF-8 (with the line), not the binary format it claims (no magic), or cut short.
 *
 * @returns for Arrow sources, whether it is the IPC file or stream layout.
 * @throws InvalidInputError naming the file, where, and the fix.
 */
export function preflight(source: string, format: SourceFormat, scan: SourceScan): ArrowLayout | undefined {
  const details = { source, format, bytes: scan.bytes };
  if (scan.bytes === 0 || (isTextFormat(format) && !scan.hasContent)) {
    throw new InvalidInputError(
      `source ${source} is empty (${scan.bytes} bytes${scan.bytes > 0 ? ', only whitespace' : ''}): ` +
        'nothing to ingest; check that the export that wrote it finished',
      { details },
    );
  }
  if (isTextFormat(format)) {
    if (startsWith(scan.head, [0xff, 0xfe]) || startsWith(scan.head, [0xfe, 0xff])) {
      throw new InvalidInputError(
        `source ${source} is UTF-16 encoded (byte-order mark at byte 1), not UTF-8: ` +
          're-encode it, e.g. iconv -f UTF-16 -t UTF-8',
        { details: { ...details, encoding: 'UTF-16' } },
      );
    }
    if (scan.invalidUtf8) {
      const { line, column, offset } = scan.invalidUtf8;
      throw new InvalidInputError(
        `source ${source} is not valid UTF-8: line ${line}, byte ${column} of the line (byte ${offset + 1} of the file); ` +
          're-encode it as UTF-8 (e.g. iconv -f LATIN1 -t UTF-8) or remove the bad bytes',
        { details: { ...details, line, column, offset } },
      );
    }
    if (scan.nul) {
      // DuckDB's readers pass NUL through into column names and values, where it cuts SQL text short.
      const { line, column, offset } = scan.nul;
      throw new InvalidInputError(
        `source ${source} contains a NUL byte at line ${line}, byte ${column} of the line (byte ${offset + 1} of the file): ` +
          `it holds binary data, not ${format} text; check the file, or pass the right --format`,
        { details: { ...details, line, column, offset } },
      );
    }
    if (scan.tooDeep) {
      const { line, column, limit } = scan.tooDeep;
      throw new InvalidInputError(
        `source ${source} nests arrays or objects more than ${limit} levels deep (line ${line}, column ${column}): ` +
          'a dataset is rows of flat or shallow records; flatten it, or fix the program that wrote it',
        { details: { ...details, line, column, limit } },
      );
    }
    return undefined;
  }
  if (format === 'parquet') {
    if (!scan.head.subarray(0, 4).equals(parquetMagic)) {
      throw new InvalidInputError(
        `source ${source} is not a Parquet file (it does not start with PAR1): check the file, or pass the right --format`,
        { details },
      );
    }
    if (scan.bytes < 12 || !scan.tail.subarray(-4).equals(parquetMagic)) {
      throw new InvalidInputError(
        `source ${source} is a truncated Parquet file (${scan.bytes} bytes, no PAR1 footer at the end): ` +
          'the copy or export was cut short; fetch or write it again',
        { details },
      );
    }
    return undefined;
  }
  if (format === 'arrow') {
    if (scan.head.subarray(0, 6).equals(arrowMagic)) {
      if (!scan.tail.subarray(-6).equals(arrowMagic)) {
        throw new InvalidInputError(
          `source ${source} is a truncated Arrow IPC file (${scan.bytes} bytes, no ARROW1 footer at the end): ` +
            'the copy or export was cut short; fetch or write it again',
          { details },
        );
      }
      return 'file';
    }
    if (scan.head.subarray(0, 4).equals(arrowContinuation)) return 'stream';
    throw new InvalidInputError(
      `source ${source} is not Arrow IPC (neither the ARROW1 file magic nor a stream message at byte 1): ` +
        'check the file, or pass the right --format',
      { details },
    );
  }
  return undefined;
}

function startsWith(buffer: Buffer, bytes: number[]): boolean {
  return bytes.every((byte, i) => buffer[i] === byte);
}
