import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestDataset } from '../../activities/ingest/index.js';
import { luhnValid } from '../../activities/ingest/pii-suspects.js';
import { ConfigurationError } from '../../pipelines/errors.js';
import { piiPolicyOf, piiPolicySchema } from '../../pipelines/privacy.js';
import { loadConfig } from '../../lib/config.js';
import { dataDir } from '../support/paths.js';
import { querySnapshot, workspace, type Workspace } from './ingest-fixtures.js';

const key = 'test-key-0123456789abcdef';
const hmac = (k: string, value: string) => createHmac('sha256', k).update(value, 'utf8').digest('hex');

let ws: Workspace;
let people: string;

const rows = [
  ['1', 'ada@example.com', '+1 206 555 0100', '4111111111111111', 'likes tea'],
  ['2', 'grace.hopper@navy.mil', '(206) 555-0199', '5500 0055 5555 5559', ''],
  ['3', '', '+44 20 7946 0958', '340000000000009', 'café ☕'],
  ['4', 'alan@bletchley.org.uk', '206-555-0123', '6011-0000-0000-0004', 'n/a'],
];

beforeAll(async () => {
  ws = await workspace(key);
  people = await ws.write(
    'people.csv',
    `id,email,phone,card,note\n${rows.map((r) => r.map((v) => (v.includes(',') ? `"${v}"` : v)).join(',')).join('\n')}\n`,
  );
});

afterAll(async () => {
  await ws.cleanup();
});

describe('privacy at ingest: pii columns hashed or dropped', () => {
  it('hashes with HMAC-SHA256 (same as node:crypto), keeps NULL, drops what must go', async () => {
    const result = await ingestDataset(
      { source: people, pii: { email: 'hash', phone: 'hash', card: 'drop' } },
      ws.deps,
    );
    expect(result.dataset.schema?.map((c) => c.name)).toEqual(['id', 'email', 'phone', 'note']);
    const stored = await querySnapshot(ws.store, result.dataset, (r) => `SELECT * FROM ${r} ORDER BY id`);
    expect(stored.map((row) => row['email'])).toEqual([
      hmac(key, 'ada@example.com'),
      hmac(key, 'grace.hopper@navy.mil'),
      null,
      hmac(key, 'alan@bletchley.org.uk'),
    ]);
    expect(stored.map((row) => row['phone'])).toEqual(rows.map((r) => hmac(key, r[2]!)));
    expect(result.warnings).toEqual([]); // hashed and dropped columns are not suspects
  });

  it('applies before the SQL transform: the transform only ever sees hashes', async () => {
    const result = await ingestDataset(
      {
        source: people,
        pii: { email: 'hash' },
        sql: "SELECT id, email, email LIKE '%@%' AS raw FROM source",
      },
      ws.deps,
    );
    const stored = await querySnapshot(ws.store, result.dataset, (r) => `SELECT * FROM ${r} ORDER BY id`);
    expect(stored.map((row) => row['raw'])).toEqual([false, false, null, false]);
    expect(stored[0]?.['email']).toBe(hmac(key, 'ada@example.com'));
  });

  it('follows RFC 2104 for keys longer than a block, and hashes non-text values as their text', async () => {
    const longKey = 'k'.repeat(100);
    const source = await ws.write('ids.csv', 'customer,score\n1001,1.5\n1002,2\n');
    const result = await ingestDataset(
      { source, pii: { customer: 'hash' } },
      { ...ws.deps, piiKey: longKey },
    );
    const stored = await querySnapshot(ws.store, result.dataset, (r) => `SELECT customer FROM ${r}`);
    expect(stored.map((row) => row['customer'])).toEqual([hmac(longKey, '1001'), hmac(longKey, '1002')]);
  });

  it('without the key, refuses up front naming SLUICE_PII_KEY, and stores nothing', async () => {
    const refused = await ingestDataset(
      { source: people, pii: { email: 'hash' } },
      { ...ws.deps, piiKey: undefined },
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigurationError);
    expect((refused as Error).message).toMatch(/SLUICE_PII_KEY is not set.*"email"/);
    // Dropping needs no key.
    const dropped = await ingestDataset(
      { source: people, pii: { email: 'drop' } },
      { ...ws.deps, piiKey: undefined },
    );
    expect(dropped.dataset.schema?.map((c) => c.name)).not.toContain('email');
  });
});

describe('privacy at ingest: unmarked columns that look personal raise warnings', () => {
  it('flags e-mails, phone numbers and Luhn-valid card numbers; leaves dates, zips, ids and free text', async () => {
    const source = await ws.write(
      'suspects.csv',
      [
        'contact,tel,cc,cc_int,fake_cc,zip,day,order_id,note',
        'ada@example.com,+1 206 555 0100,4111 1111 1111 1111,4111111111111111,4111111111111112,02134,2021-03-04,1234567890123,hello',
        'bob@example.org,(206) 555-0199,5555-5555-5555-4444,5555555555554444,5555555555554445,98101,2021-03-05,1234567890124,see you',
        'carol@example.net,+4915123456789,378282246310005,378282246310005,378282246310006,10001,2021-03-06,1234567890125,call me',
      ].join('\n'),
    );
    const result = await ingestDataset({ source, types: { zip: 'VARCHAR', day: 'VARCHAR' } }, ws.deps);
    expect(
      result.warnings.map(({ column, check, observed, severity }) => ({ column, check, observed, severity })),
    ).toEqual([
      { column: 'contact', check: 'pii-suspect', observed: 'e-mail', severity: 'warn' },
      { column: 'tel', check: 'pii-suspect', observed: 'phone', severity: 'warn' },
      { column: 'cc', check: 'pii-suspect', observed: 'card-number', severity: 'warn' },
      { column: 'cc_int', check: 'pii-suspect', observed: 'card-number', severity: 'warn' },
    ]);
    expect(result.warnings[0]?.message).toMatch(
      /column "contact" looks like it holds e-mail addresses \(3 of 3 sampled values\): mark it pii/,
    );
    // A warning does not stop ingest: the data is stored as it came.
    expect(result.dataset.rows).toBe(3);
  });

  it('is quiet on a real dataset without personal data', async () => {
    const result = await ingestDataset({ source: join(dataDir, 'zipcodes.csv') }, ws.deps);
    expect(result.warnings).toEqual([]);
  });

  it('checks card numbers with Luhn', () => {
    expect(
      ['4111111111111111', '5500005555555559', '340000000000009', '6011000000000004'].map(luhnValid),
    ).toEqual([true, true, true, true]);
    expect(['4111111111111112', '1234567890123456'].map(luhnValid)).toEqual([false, false]);
  });
});

describe('the privacy contract and its key', () => {
  it('derives the ingest policy from contract columns and validates it', () => {
    expect(piiPolicyOf({ email: { pii: 'hash' }, ssn: { pii: 'drop' }, age: {} })).toEqual({
      email: 'hash',
      ssn: 'drop',
    });
    expect(piiPolicySchema.safeParse({ email: 'encrypt' }).success).toBe(false);
  });

  it('reads SLUICE_PII_KEY from the environment and never prints a bad one', () => {
    expect(loadConfig({ SLUICE_PII_KEY: key }, '/tmp').piiKey).toBe(key);
    expect(loadConfig({}, '/tmp').piiKey).toBeUndefined();
    const refused = (() => {
      try {
        return loadConfig({ SLUICE_PII_KEY: 'short-secret' }, '/tmp');
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(ConfigurationError);
    expect((refused as Error).message).toMatch(
      /SLUICE_PII_KEY=\(secret, not shown\) is invalid: at least 16 characters/,
    );
    expect((refused as Error).message).not.toContain('short-secret');
  });
});
