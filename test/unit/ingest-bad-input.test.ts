import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestDataset, type IngestParams } from '../../activities/ingest/index.js';
import {
  ConfigurationError,
  DataValidationError,
  InvalidInputError,
  type SluiceError,
} from '../../pipelines/errors.js';
import { dataDir } from '../support/paths.js';
import { workspace, type Workspace } from './ingest-fixtures.js';

let ws: Workspace;
let parquet: Buffer;
let arrow: Buffer;

beforeAll(async () => {
  ws = await workspace();
  parquet = await readFile(join(dataDir, 'flights-3m.parquet'));
  arrow = await readFile(join(dataDir, 'flights-200k.arrow'));
});

afterAll(async () => {
  await ws.cleanup();
});

type ErrorClass = new (...args: never[]) => SluiceError;

interface BadCase {
  name: string;
  /** The file to write (name → content), when the case needs one. */
  file?: [string, string | (() => Uint8Array)];
  /** Params; `source` defaults to the written file. */
  params?: Partial<IngestParams>;
  error: ErrorClass;
  message: RegExp;
}

/** The middle of flights-3m.parquet overwritten: magic numbers intact, column data garbage. */
function corruptParquet(): Uint8Array {
  const copy = Buffer.from(parquet);
  copy.fill(7, 100, 1_000_000);
  return copy;
}

const cases: BadCase[] = [
  {
    name: 'a missing file',
    params: { source: 'no/such/file.csv' },
    error: InvalidInputError,
    message: /source no\/such\/file\.csv does not exist .*check the path/,
  },
  {
    name: 'an empty file',
    file: ['empty.csv', ''],
    error: InvalidInputError,
    message: /empty\.csv is empty \(0 bytes\)/,
  },
  {
    name: 'a CSV header naming a column twice (DuckDB would rename it a_1)',
    file: ['dup-header.csv', 'a,a,b\n1,2,3\n4,5,6\n'],
    error: InvalidInputError,
    message:
      /dup-header\.csv line 1 \(the header\) names "a" twice \(columns 1 and 2; SQL names ignore case\), and DuckDB would silently rename the second: give each column its own name in the file/,
  },
  {
    name: 'a CSV header whose names differ only in case',
    file: ['case-header.csv', 'Delay,delay,b\n1,2,3\n'],
    error: InvalidInputError,
    message: /case-header\.csv line 1 \(the header\) names "Delay" and "delay" \(columns 1 and 2/,
  },
  {
    name: 'a CSV header with a quote that never closes',
    file: ['open-quote.csv', '"a","b\n1,2\n3,4\n'],
    error: InvalidInputError,
    message:
      /open-quote\.csv line 1 \(the header\): the quote that opens column 2 \("\\"b"\) never closes on that line/,
  },
  {
    name: 'a file of blank lines',
    file: ['blank.ndjson', '\n  \n\n'],
    error: InvalidInputError,
    message: /blank\.ndjson is empty \(5 bytes, only whitespace\)/,
  },
  {
    name: 'a header and no rows',
    file: ['header.csv', 'id,name,email\n'],
    error: InvalidInputError,
    message: /header\.csv has only a header \(id, name, email\) and no data rows/,
  },
  {
    name: 'an empty JSON array',
    file: ['empty.json', '[]'],
    error: InvalidInputError,
    message: /empty\.json has no records/,
  },
  {
    name: 'a ragged row early in the file',
    file: ['ragged.csv', 'a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n'],
    error: InvalidInputError,
    message: /ragged\.csv line 4 has 2 fields where line 1 has 3 \(split on comma\)/,
  },
  {
    name: 'a ragged row after the sniffer sample',
    file: ['late.csv', () => Buffer.from(lateRagged())],
    error: InvalidInputError,
    message: /late\.csv line 30002 has 4 fields where the header has 3/,
  },
  {
    name: 'a TSV declared as CSV',
    file: ['tabs.csv', 'a\tb\tc\n1\t2\t3\n4\t5\t6\n'],
    params: { csv: { delimiter: ',' } },
    error: InvalidInputError,
    message:
      /read with delimiter comma, which gives one column, but it looks like tab-separated data .*--delimiter '\\t'/,
  },
  {
    name: 'a CSV named .tsv',
    file: ['commas.tsv', 'a,b,c\n1,2,3\n'],
    error: InvalidInputError,
    message: /looks like comma-separated data.*--format csv/,
  },
  {
    name: 'invalid UTF-8',
    file: [
      'latin1.csv',
      () => Buffer.concat([Buffer.from('a,b\n1,x\n2,caf'), Buffer.from([0xe9]), Buffer.from('\n')]),
    ],
    error: InvalidInputError,
    message: /latin1\.csv is not valid UTF-8: line 3, byte 6 of the line/,
  },
  {
    name: 'UTF-16',
    file: [
      'utf16.csv',
      () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n1,2\n', 'utf16le')]),
    ],
    error: InvalidInputError,
    message: /utf16\.csv is UTF-16 encoded/,
  },
  {
    name: 'a CSV value of the wrong declared type',
    file: ['typed.csv', 'id,name\n1,x\n2,y\nthree,z\n'],
    params: { types: { id: 'INTEGER' } },
    error: DataValidationError,
    message: /typed\.csv line 4, column "id": value "three" is not of its declared type INTEGER/,
  },
  {
    name: 'a JSON value of the wrong declared type',
    file: ['typed.json', '[{"id":"1"},{"id":"2"},{"id":"x"}]'],
    params: { types: { id: 'INTEGER' } },
    error: DataValidationError,
    message: /typed\.json record 3, column "id": value "x" is not of its declared type INTEGER/,
  },
  {
    name: 'a declared type for a column that does not exist',
    file: ['cols.csv', 'id,name\n1,x\n'],
    params: { types: { ID: 'INTEGER' } },
    error: InvalidInputError,
    message: /cols\.csv has no column "ID" \(named in types\): did you mean "id"\?/,
  },
  {
    name: 'a declared type that is not a type',
    file: ['inj.csv', 'id\n1\n'],
    params: { types: { id: 'INTEGER); DROP TABLE x; --' } },
    error: InvalidInputError,
    message: /ingest parameters are invalid: types\.id: a DuckDB type/,
  },
  {
    name: 'a truncated Parquet file',
    file: ['cut.parquet', () => parquet.subarray(0, 50_000)],
    error: InvalidInputError,
    message: /cut\.parquet is a truncated Parquet file \(50000 bytes, no PAR1 footer/,
  },
  {
    name: 'a corrupt Parquet file',
    file: ['corrupt.parquet', corruptParquet],
    error: InvalidInputError,
    message: /corrupt\.parquet is corrupt or unreadable Parquet .*re-export/,
  },
  {
    name: 'a text file named .parquet',
    file: ['text.parquet', 'id,name\n1,x\n'],
    error: InvalidInputError,
    message: /text\.parquet is not a Parquet file \(it does not start with PAR1\)/,
  },
  {
    name: 'a truncated Arrow file',
    file: ['cut.arrow', () => arrow.subarray(0, 100_000)],
    error: InvalidInputError,
    message: /cut\.arrow is a truncated Arrow IPC file/,
  },
  {
    name: 'a corrupt Arrow stream',
    file: [
      'corrupt.arrows',
      () => Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0]), Buffer.alloc(64, 9)]),
    ],
    error: InvalidInputError,
    message: /corrupt\.arrows is corrupt or unreadable Arrow IPC/,
  },
  {
    name: 'invalid JSON',
    file: ['broken.json', '[{"a":1},\n {"a":2} {"a":3}]'],
    error: InvalidInputError,
    message: /broken\.json is not valid JSON: line 2, column 10: Expected ',' or ']' after array element/,
  },
  {
    name: 'invalid NDJSON',
    file: ['broken.ndjson', '{"a":1}\n{"a":2\n{"a":3}\n'],
    error: InvalidInputError,
    message: /broken\.ndjson is not valid JSON: line 2, column 7/,
  },
  {
    name: 'an unknown extension',
    file: ['sheet.xlsx', 'PK'],
    error: InvalidInputError,
    message:
      /sheet\.xlsx has an unknown format \(extension "\.xlsx".*--format csv\|tsv\|parquet\|arrow\|json\|ndjson/,
  },
  {
    name: 'an unknown declared format',
    file: ['data.csv', 'a\n1\n'],
    params: { format: 'excel' as never },
    error: InvalidInputError,
    message: /ingest parameters are invalid: format: Invalid option/,
  },
  {
    name: 'CSV options for a Parquet file',
    params: { source: join(dataDir, 'flights-3m.parquet'), csv: { delimiter: ';' } },
    error: InvalidInputError,
    message: /is parquet, but CSV options .* were given/,
  },
  {
    name: 'a path that climbs out of the roots',
    params: { source: '../../../../../../etc/passwd' },
    error: InvalidInputError,
    message: /resolves to \/etc\/passwd, outside the allowed data roots .*SLUICE_DATA_ROOTS/,
  },
  {
    name: 'an absolute path elsewhere',
    params: { source: '/etc/hostname' },
    error: InvalidInputError,
    message: /source \/etc\/hostname resolves to \/etc\/hostname, outside the allowed data roots/,
  },
  {
    name: 'a file:// URI elsewhere',
    params: { source: 'file:///etc/passwd' },
    error: InvalidInputError,
    message: /source file:\/\/\/etc\/passwd resolves to \/etc\/passwd, outside the allowed data roots/,
  },
  {
    name: 'a SQL transform that reads another file',
    file: ['ok.csv', 'a\n1\n'],
    params: { sql: "SELECT * FROM read_csv('/etc/passwd')" },
    error: InvalidInputError,
    message:
      /the sql transform for source .*ok\.csv tries to read a file; it may read only the view "source"/,
  },
  {
    name: 'a SQL transform that is not one SELECT',
    file: ['ok2.csv', 'a\n1\n'],
    params: { sql: "COPY source TO '/tmp/out.csv'" },
    error: InvalidInputError,
    message: /the sql transform .* (is not a SELECT|tries to read a file)/,
  },
  {
    name: 'a SQL transform naming a missing column',
    file: ['ok3.csv', 'a\n1\n'],
    params: { sql: 'SELECT b FROM source' },
    error: InvalidInputError,
    message:
      /the sql transform .* fails \(Binder Error: Referenced column "b" not found.*\(columns: a BIGINT\)/,
  },
  {
    name: 'a SQL transform that selects nothing',
    file: ['ok4.csv', 'a\n1\n2\n'],
    params: { sql: 'SELECT * FROM source WHERE a > 10' },
    error: InvalidInputError,
    message: /the sql transform selected none of the 2 rows of source/,
  },
  {
    name: 'a column to hash without SLUICE_PII_KEY',
    file: ['people.csv', 'email\na@example.com\n'],
    params: { pii: { email: 'hash' } },
    error: ConfigurationError,
    message: /SLUICE_PII_KEY is not set, and column "email" must be hashed/,
  },
];

function lateRagged(): string {
  const lines = ['a,b,c'];
  for (let i = 1; i <= 40_000; i++) lines.push(i === 30_001 ? `${i},2,3,4` : `${i},2,3`);
  return `${lines.join('\n')}\n`;
}

describe('ingest refuses bad input with a typed, non-retryable error and stores nothing', () => {
  it.each(cases)('$name', async ({ file, params, error, message }) => {
    const source = file
      ? await ws.write(file[0], typeof file[1] === 'function' ? file[1]() : file[1])
      : undefined;
    const refused = await ingestDataset({ source, ...params }, ws.deps).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(error);
    expect((refused as SluiceError).retryable).toBe(false);
    expect((refused as Error).message).toMatch(message);
    expect(await ws.storeFiles()).toEqual([]);
  });

  it('a symlink inside the roots that leads out of them', async () => {
    const link = join(ws.data, 'innocent.csv');
    await symlink('/etc/passwd', link);
    const refused = await ingestDataset({ source: link }, ws.deps).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect((refused as Error).message).toMatch(
      /innocent\.csv resolves to \/etc\/passwd, outside the allowed/,
    );
    expect(await ws.storeFiles()).toEqual([]);
  });
});
