import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveDataset } from '../../activities/data-inputs.js';
import { ingestDataset } from '../../activities/ingest/index.js';
import { profileDataset } from '../../activities/profile-dataset.js';
import { resolveDataset as resolveTrainingData } from '../../activities/train/train-model.js';
import { maxJsonDepth } from '../../activities/ingest/json-depth.js';
import { InvalidInputError, type SluiceError } from '../../pipelines/errors.js';
import {
  bigFieldBytes,
  flipBits,
  hostileDir,
  parquetFooterLength,
  smallArrow,
  writeBigFieldCsv,
  writeBigStringJson,
  writeDeepJson,
  writeDeepNdjson,
  writeHugeJsonArray,
  writeSmallParquet,
  writeWideCsv,
} from '../fixtures/hostile/generate.js';
import { querySnapshot, workspace, type Workspace } from './ingest-fixtures.js';

/**
 * The hostile input corpus (test/fixtures/hostile/README.md) through the ingest activity: legitimate
 * but awkward CSV is ingested exactly; garbage is refused with one line naming the file, where, and
 * the fix, and the artifact store is left exactly as it was. Every case runs in this one process, so
 * a case that crashed DuckDB (as 20 000-level JSON did) would take the whole file down with it.
 */

let ws: Workspace;
let parquet: Buffer;

beforeAll(async () => {
  ws = await workspace();
  parquet = await writeSmallParquet(join(ws.data, 'base.parquet'));
});

afterAll(async () => {
  await ws.cleanup();
});

async function committed(name: string): Promise<string> {
  const path = join(ws.data, name);
  await copyFile(join(hostileDir, name), path);
  return path;
}

async function rows(source: string): Promise<Record<string, unknown>[]> {
  const result = await ingestDataset({ source }, ws.deps);
  expect(result.dataset.rows).toBeGreaterThan(0);
  return querySnapshot(ws.store, result.dataset, (r) => `SELECT * FROM ${r}`);
}

/** Ingest must refuse: typed, non-retryable, one line, naming the file; and the store must not change. */
async function refused(source: string, message: RegExp): Promise<string> {
  const before = await ws.storeFiles();
  const error = await ingestDataset({ source }, ws.deps).then(
    (r) => new Error(`ingested ${r.dataset.rows} rows`),
    (e: unknown) => e as Error,
  );
  expect(error).toBeInstanceOf(InvalidInputError);
  expect((error as SluiceError).retryable).toBe(false);
  expect(error.message).toMatch(message);
  expect(error.message).not.toContain('\n');
  expect(error.message).toContain(source);
  expect(await ws.storeFiles()).toEqual(before);
  return error.message;
}

describe('legitimate but awkward CSV is ingested exactly', () => {
  it('a UTF-8 byte-order mark does not leak into the first column name', async () => {
    const result = await rows(await committed('bom.csv'));
    expect(Object.keys(result[0] ?? {})).toEqual(['id', 'name', 'score']);
    expect(result).toEqual([
      { id: 1n, name: 'alpha', score: 0.5 },
      { id: 2n, name: 'beta', score: 1.25 },
      { id: 3n, name: 'gamma', score: -2 },
    ]);
  });

  it('CRLF line ends: no \\r in the last column, an empty last field is null', async () => {
    const result = await rows(await committed('crlf.csv'));
    expect(result).toEqual([
      { id: 1n, city: 'Oslo', temp: -3.5 },
      { id: 2n, city: 'Lima', temp: 19 },
      { id: 3n, city: 'Cairo', temp: 31.25 },
      { id: 4n, city: 'Quito', temp: null },
    ]);
  });

  it('embedded quotes, commas and newlines (LF and CRLF) inside quoted fields', async () => {
    const result = await rows(await committed('quotes-newlines.csv'));
    expect(result.map((r) => r['quote'])).toEqual([
      'She said "hi", then left',
      'line one\nline two, with a comma',
      'CRLF inside\r\nquotes',
      null,
      'plain',
    ]);
    expect(result.map((r) => r['n'])).toEqual([10n, 20n, 30n, 40n, 50n]);
  });

  it('BOM, CRLF and quoted header names together', async () => {
    const result = await rows(await committed('bom-crlf-quoted.csv'));
    expect(result).toEqual([
      { id: 1n, note: 'a "quoted" word' },
      { id: 2n, note: 'two\r\nlines' },
    ]);
  });

  // The PII scan's planning once grew with the square of the width (500 columns took 23 s); its time
  // is a bench matter, and this test's own timeout is what catches a relapse into minutes.
  it('a CSV 5 000 columns wide is ingested whole', async () => {
    const path = join(ws.data, 'wide.csv');
    await writeWideCsv(path, 5000);
    const result = await ingestDataset({ source: path }, ws.deps);
    expect(result.dataset.rows).toBe(2);
    expect(result.dataset.schema).toHaveLength(5000);
    expect(result.dataset.schema?.at(-1)).toEqual({ name: 'c4999', type: 'BIGINT' });
  });

  it('a JSON record with one 20 MB string is ingested intact', async () => {
    const path = join(ws.data, 'big-string.json');
    await writeBigStringJson(path, 20_000_000);
    const result = await ingestDataset({ source: path }, ws.deps);
    const lengths = await querySnapshot(
      ws.store,
      result.dataset,
      (r) => `SELECT id, length(text) AS n FROM ${r} ORDER BY id`,
    );
    expect(lengths).toEqual([
      { id: 1n, n: 20_000_000n },
      { id: 2n, n: 5n },
    ]);
  }, 120_000);

  it('a huge JSON array (300 000 records, ~17 MB) is ingested in full', async () => {
    const path = join(ws.data, 'huge.json');
    await writeHugeJsonArray(path, 300_000);
    const result = await ingestDataset({ source: path }, ws.deps);
    expect(result.dataset.rows).toBe(300_000);
    const [check] = await querySnapshot(
      ws.store,
      result.dataset,
      (r) => `SELECT count(DISTINCT id) AS ids, max(id) AS top, min(name) AS first FROM ${r}`,
    );
    expect(check).toEqual({ ids: 300_000n, top: 299_999n, first: 'row-0' });
  });
});

describe('garbage is refused with one line naming the file, where, and the fix; nothing is stored', () => {
  it('random binary bytes named .csv', async () => {
    await refused(
      await committed('garbage.csv'),
      /garbage\.csv is not valid UTF-8: line 1, byte 4 of the line/,
    );
  });

  it('a PNG image named .csv', async () => {
    await refused(await committed('image.csv'), /image\.csv is not valid UTF-8: line 1, byte 1 of the line/);
  });

  it('NUL bytes (valid UTF-8, but binary): refused before DuckDB splices them into SQL', async () => {
    await refused(
      await committed('nul-bytes.csv'),
      /nul-bytes\.csv contains a NUL byte at line 1, byte 1 of the line .*binary data, not csv text/,
    );
    const inName = join(ws.data, 'nul-header.csv');
    await writeFile(inName, 'id,na\0me\n1,x\n');
    await refused(inName, /nul-header\.csv contains a NUL byte at line 1, byte 6 of the line/);
    const inJson = join(ws.data, 'nul.ndjson');
    await writeFile(inJson, '{"a":1}\n{"a":"x\0y"}\n');
    await refused(inJson, /nul\.ndjson contains a NUL byte at line 2, byte 8 of the line .*not ndjson text/);
  });

  it('ASCII control characters only', async () => {
    await refused(
      await committed('control-chars.csv'),
      /control-chars\.csv: DuckDB cannot detect its CSV dialect .*declare the delimiter, quote and header/,
    );
  });

  it(`a 10 MB quoted field: refused naming the line of the row and the limit`, async () => {
    const path = join(ws.data, 'big-field.csv');
    await writeBigFieldCsv(path);
    const message = await refused(
      path,
      /big-field\.csv line 3 starts a row of \d+ bytes, over the 2000000-byte limit for one row: .*keep large text or blobs out of the file/,
    );
    expect(Number(/a row of (\d+) bytes/.exec(message)?.[1])).toBeGreaterThan(bigFieldBytes);
  });

  it.each([20_000, 100_000])(
    'JSON nested %i levels deep (DuckDB used to crash the process)',
    async (depth) => {
      const path = join(ws.data, `deep-${depth}.json`);
      await writeDeepJson(path, depth);
      await refused(
        path,
        new RegExp(
          `deep-${depth}\\.json nests arrays or objects more than ${maxJsonDepth} levels deep \\(line 1, column 261\\): .*flatten it`,
        ),
      );
    },
  );

  it('NDJSON with one record nested 100 000 levels deep, brackets inside strings not counted', async () => {
    const path = join(ws.data, 'deep.ndjson');
    await writeDeepNdjson(path, 100_000);
    await refused(
      path,
      /deep\.ndjson nests arrays or objects more than 256 levels deep \(line 2, column 1281\)/,
    );
    const strings = join(ws.data, 'brackets-in-strings.ndjson');
    await writeFile(strings, `{"a":"${'['.repeat(5000)}","b":"\\"${'{'.repeat(5000)}"}\n{"a":"x","b":"y"}\n`);
    expect((await ingestDataset({ source: strings }, ws.deps)).dataset.rows).toBe(2);
  });

  it('JSON nested exactly to the limit is still ingested', async () => {
    const path = join(ws.data, 'deep-ok.json');
    await writeDeepJson(path, maxJsonDepth - 2);
    expect((await ingestDataset({ source: path }, ws.deps)).dataset.rows).toBe(1);
  });
});

describe('truncated and bit-flipped Parquet (derived from a real 200-row file) is refused', () => {
  const footer = () => parquetFooterLength(parquet);
  const cases: [string, () => Buffer, RegExp][] = [
    ['cut in half', () => parquet.subarray(0, parquet.length >> 1), /is a truncated Parquet file/],
    ['last 4 bytes missing', () => parquet.subarray(0, parquet.length - 4), /is a truncated Parquet file/],
    [
      'head and tail kept, middle cut out',
      () => Buffer.concat([parquet.subarray(0, 100), parquet.subarray(parquet.length - 200)]),
      /is corrupt or unreadable Parquet \(.*Footer length error.*\): re-export or fetch the file again/,
    ],
    [
      'a flip in the leading magic',
      () => flipBits(parquet, [0]),
      /is not a Parquet file \(it does not start with PAR1\)/,
    ],
    [
      'a flip in the footer length',
      () => flipBits(parquet, [-6]),
      /is corrupt or unreadable Parquet \(.*Footer length error/,
    ],
    [
      'a flip in the footer length, low byte',
      () => flipBits(parquet, [-8]),
      /is corrupt or unreadable Parquet/,
    ],
    [
      'a flip at the start of the footer',
      () => flipBits(parquet, [parquet.length - 8 - footer()]),
      /is corrupt or unreadable Parquet/,
    ],
    ['a flip in a page header', () => flipBits(parquet, [5]), /is corrupt or unreadable Parquet/],
    [
      'a flip in compressed page data',
      () => flipBits(parquet, [30]),
      /is corrupt or unreadable Parquet \(.*ZSTD Decompression failure/,
    ],
    [
      'several flips in page data',
      () => flipBits(parquet, [40, 60, 80, 120, 200, 400]),
      /is corrupt or unreadable Parquet/,
    ],
  ];
  it.each(cases)('%s', async (name, bytes, message) => {
    const path = join(ws.data, `${name.replaceAll(/\W+/g, '-')}.parquet`);
    await writeFile(path, bytes());
    await refused(path, message);
  });

  it('the base file itself ingests (so the refusals above are about the damage)', async () => {
    const path = join(ws.data, 'base.parquet');
    expect((await ingestDataset({ source: path }, ws.deps)).dataset.rows).toBe(200);
  });
});

describe('steps that read raw files themselves refuse deep JSON too (each used to crash the worker)', () => {
  it.each([
    ['profileDataset (first-dag)', (source: string) => profileDataset(source, ws.deps.dataRoots)],
    [
      'statistics, validation and drift inputs',
      (source: string) =>
        resolveDataset(source, { store: ws.store, dataRoots: ws.deps.dataRoots, what: 'x' }),
    ],
    [
      'trainModel from a path',
      (source: string) =>
        resolveTrainingData(
          ws.store,
          { home: ws.home, dataRoots: ws.deps.dataRoots },
          {
            run: { pipeline: 'p', workflowId: 'w', runId: 'r', trigger: 'manual' },
            step: 'train',
            params: {},
            runParams: {},
            inputs: {},
          },
          { source },
        ),
    ],
  ])('%s', async (_name, read) => {
    const path = join(ws.data, 'deep-raw.ndjson');
    await writeDeepNdjson(path, 50_000);
    const error = await read(path).then(
      () => new Error('accepted'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(
      /deep-raw\.ndjson nests arrays or objects more than 256 levels deep \(line 2, column 1281\)/,
    );
  });
});

describe('bit-flip sweeps: every outcome is a correct ingest or a one-line refusal, never a crash or a retry', () => {
  /**
   * Parquet and Arrow carry no checksums over their data, so many flips go unnoticed (a changed value,
   * or a different row count when the flip hits the footer's num_rows): those ingest what the file now
   * says. What must never happen: a crash, a hang, a retryable error for a corrupt file, or a refusal
   * that leaves something in the store.
   */
  it.each<[string, () => Buffer, string, number]>([
    ['Parquet, every 13th byte', () => parquet, 'parquet', 13],
    ['Arrow IPC file, every 97th byte', () => smallArrow('file'), 'arrow', 97],
    ['Arrow IPC stream, every 97th byte', () => smallArrow('stream'), 'arrows', 97],
  ])(
    '%s',
    async (_name, base, extension, stride) => {
      const bytes = base();
      const outcomes = { ingested: 0, refused: 0 };
      for (let at = 0; at < bytes.length; at += stride) {
        const path = join(ws.data, `sweep-${at}.${extension}`);
        await writeFile(path, flipBits(bytes, [at]));
        const before = await ws.storeFiles();
        const result = await ingestDataset({ source: path }, ws.deps).catch((e: unknown) => e as Error);
        if (result instanceof Error) {
          outcomes.refused += 1;
          expect(result, `flip at byte ${at}: ${result.message}`).toBeInstanceOf(InvalidInputError);
          expect((result as SluiceError).retryable).toBe(false);
          expect(result.message).toContain(path);
          expect(result.message).not.toContain('\n');
          expect(await ws.storeFiles()).toEqual(before);
        } else {
          outcomes.ingested += 1;
          expect(result.dataset.rows).toBeGreaterThan(0);
        }
      }
      expect(outcomes.refused).toBeGreaterThan(0);
      expect(outcomes.refused + outcomes.ingested).toBe(Math.ceil(bytes.length / stride));
    },
    120_000,
  );
});
