import { isUtf8 } from 'node:buffer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanCsvShape } from '../../activities/ingest/csv-shape.js';
import { firstInvalidUtf8, scanSource } from '../../activities/ingest/source-scan.js';
import { ingestDataset } from '../../activities/ingest/index.js';
import { workspace, type Workspace } from './ingest-fixtures.js';

let ws: Workspace;

beforeAll(async () => {
  ws = await workspace();
});

afterAll(async () => {
  await ws.cleanup();
});

/** Lines of 2-, 3- and 4-byte characters: the 1 MiB read chunks split sequences everywhere. */
function multibyteCsv(lines: number): string {
  const rows = ['id,word'];
  for (let i = 0; i < lines; i++) rows.push(`${i},café €${i} 😀 ñandú`);
  return `${rows.join('\n')}\n`;
}

describe('the UTF-8 check of a streamed source', () => {
  it('accepts multi-byte text however the read chunks split it', async () => {
    const text = multibyteCsv(60_000); // ~1.9 MB
    const path = await ws.write('multibyte.csv', text);
    const scan = await scanSource(path, true);
    expect(scan.invalidUtf8).toBeUndefined();
    expect(scan.bytes).toBe(Buffer.byteLength(text));
    const result = await ingestDataset({ source: path }, ws.deps);
    expect(result.dataset.rows).toBe(60_000);
  });

  it('finds a bad byte far into the file, with its line and column', async () => {
    const good = Buffer.from(multibyteCsv(50_000));
    const bad = Buffer.concat([
      good,
      Buffer.from('50000,ok\n50001,bad'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('\n'),
    ]);
    const path = await ws.write('late-bad.csv', bad);
    const scan = await scanSource(path, true);
    expect(scan.invalidUtf8).toEqual({ offset: good.length + 18, line: 50_003, column: 10 });
  });

  it('flags a sequence cut off by the end of the file', async () => {
    const path = await ws.write('cut.csv', Buffer.concat([Buffer.from('a\ncaf'), Buffer.from([0xc3])]));
    expect((await scanSource(path, true)).invalidUtf8).toEqual({ offset: 5, line: 2, column: 4 });
  });

  it('agrees with Node on overlongs, surrogates, out-of-range and random bytes', () => {
    for (const bytes of [
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98, 0x80],
    ]) {
      const buf = Uint8Array.from(bytes);
      expect(firstInvalidUtf8(buf) === buf.length, `bytes ${bytes.join(' ')}`).toBe(isUtf8(buf));
    }
    let seed = 42;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let trial = 0; trial < 2000; trial++) {
      const buf = Uint8Array.from({ length: 1 + (next() % 12) }, () =>
        next() % 3 === 0 ? next() % 128 : 0x80 + (next() % 128),
      );
      expect(firstInvalidUtf8(buf) === buf.length).toBe(isUtf8(buf));
    }
  });
});

describe('the CSV shape scan', () => {
  it('counts quoted delimiters and newlines as data and reports the physical line of a ragged row', async () => {
    const path = await ws.write(
      'quoted.csv',
      'id,text,n\n1,"a, b",2\n2,"line one\nline two, still quoted",3\n3,"say ""hi""",4\n4,short\n',
    );
    expect(await scanCsvShape(path, ',', '"')).toEqual({
      expected: 3,
      records: 5,
      ragged: { line: 6, fields: 2 },
    });
  });

  it('passes a well-formed file with CRLF line ends and blank lines', async () => {
    const path = await ws.write('crlf.csv', 'a;b\r\n1;2\r\n\r\n3;4\r\n');
    expect(await scanCsvShape(path, ';', '"')).toEqual({ expected: 2, records: 3 });
  });
});
