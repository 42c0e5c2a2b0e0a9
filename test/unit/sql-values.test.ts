import { describe, expect, it } from 'vitest';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { compileFeatureProgram } from '../../lib/model/feature-program.js';
import {
  formatDate,
  formatTimestamp,
  fromJson,
  parseDate,
  parseTimestamp,
  timestampParts,
  type SqlValue,
} from '../../lib/model/sql-values.js';
import type { FittedTransform, SourceColumn } from '../../pipelines/transform.js';

/**
 * Serving reads every request's dates and timestamps (lib/model/sql-values.ts) digit by digit; these
 * check it against the regular-expression reader it replaced, over generated and mangled values, and
 * against DuckDB's cast.
 */

describe('request dates and timestamps, read digit by digit', () => {
  it('accept and refuse exactly what the regular-expression readers they replaced did', () => {
    const values = [...dateTexts(), ...mangled(dateTexts())];
    expect(values.length).toBeGreaterThan(7_000);
    for (const text of values) {
      if (/0000-0?2-29/.test(text)) continue; // below
      expect(parseTimestamp(text), JSON.stringify(text)).toBe(regexTimestamp(text));
      expect(parseDate(text), JSON.stringify(text)).toBe(regexDate(text));
    }
    // The one place they differ: year 0 is a leap year (as DuckDB has it); the old reader checked it as 1900.
    expect(parseDate('0000-02-29')).toBe(-719_469);
    expect(regexDate('0000-02-29')).toBeNull();
  });

  it('agree with DuckDB on every value both accept without an offset', async () => {
    const texts = dateTexts().filter((t) => !/[zZ+]|-\d\d(:?\d\d)?\s*$/.test(t.slice(10)) && t === t.trim());
    const duck = await withDuckDB(async (db) => {
      const list = texts.map((t) => sqlString(t)).join(', ');
      const reader = await db.runAndReadAll(
        `SELECT t, epoch_us(TRY_CAST(t AS TIMESTAMP)) AS us FROM unnest([${list}]) AS u(t)`,
      );
      return new Map(reader.getRowObjectsJS().map((r) => [r['t'] as string, r['us'] as bigint | null]));
    });
    let compared = 0;
    for (const text of texts) {
      const ours = parseTimestamp(text);
      const theirs = duck.get(text);
      if (ours === null || theirs === null || theirs === undefined) continue;
      expect(ours, text).toBe(Number(theirs));
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
  });

  it('split timestamps into the calendar parts Date gives, without a Date per value', () => {
    const differ: string[] = [];
    for (let days = -800_000; days <= 3_000_000; days += 59) {
      const start = days * 86_400_000_000;
      for (const micros of [start, start + 86_399_999_999, start + 3_723_000_001]) {
        const date = new Date(Math.floor(micros / 1000));
        const p = timestampParts(micros);
        const ours = [p.year, p.month, p.day, p.hour, p.minute, p.second].join();
        const theirs = [
          date.getUTCFullYear(),
          date.getUTCMonth() + 1,
          date.getUTCDate(),
          date.getUTCHours(),
          date.getUTCMinutes(),
          date.getUTCSeconds(),
        ].join();
        if (ours !== theirs) differ.push(`${micros}: ${ours} vs ${theirs}`);
      }
    }
    expect(differ).toEqual([]);
    expect(formatTimestamp(parseTimestamp('0000-03-01 10:00:00.25') as number)).toBe(
      '0000-03-01 10:00:00.25',
    );
    expect(formatDate(parseDate('2024-02-29') as number)).toBe('2024-02-29');
  });

  it('a request with a bad timestamp is refused with the message it had', () => {
    const program = compileFeatureProgram(transformOf('hour(CAST(t AS TIMESTAMP))'));
    const slot = program.inputs.map((c) => c.name).indexOf('t');
    const values = program.inputs.map(() => null as SqlValue);
    values[slot] = '2001-02-30 10:00';
    expect(() => program.compute(values)).toThrow('could not convert "2001-02-30 10:00" to TIMESTAMP');
    expect(fromJson('2001-01-14 24:00', 'TIMESTAMP')).toBeUndefined();
    expect(fromJson('2001-01-14 21:05', 'TIMESTAMP')).toBe(979_506_300_000_000);
  });
});

/** Dates and timestamps in every form the readers take, with and without time, fraction and zone. */
function dateTexts(): string[] {
  const dates = [
    '2001-01-14',
    '2000-2-29',
    '1900-02-29',
    '0004-02-29',
    '0001-01-01',
    '9999-12-31',
    '1969-12-31',
    '2001-13-01',
    '2001-00-10',
    '2001-04-31',
    '2001-1-5',
    '2024-02-29',
    '2023-02-29',
    '1970-01-01',
  ];
  const times = [
    '',
    ' 21:05',
    'T21:05',
    't9:05',
    ' 00:00:00',
    ' 23:59:59',
    ' 24:00',
    ' 21:60',
    ' 21:05:60',
    ' 21:05:30.5',
    ' 21:05:30.1234567',
    ' 21:05:30.000001',
    ' 7:05:09.12',
  ];
  const zones = ['', 'Z', 'z', ' Z', '+02:00', '-0530', '+05', ' -01:30', '+99:99', '-00:30'];
  const out: string[] = [];
  for (const d of dates) for (const t of times) for (const z of zones) out.push(d + t + z);
  return [
    ...out,
    '  2001-01-14 21:05  ',
    '\t2001-01-14\n',
    '\u00a02001-01-14\u3000',
    '\ufeff2001-01-14 21:05 +02',
  ];
}

/** Each text with one character dropped, doubled or replaced, at every position (seeded, so stable). */
function mangled(texts: string[]): string[] {
  const alphabet = ['0', '9', ' ', '-', ':', '.', 'T', 'Z', '+', 'x', '\u00a0', '١'];
  let seed = 7;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  return texts.flatMap((t) => {
    const i = next() % (t.length + 1);
    const c = alphabet[next() % alphabet.length] as string;
    return [
      t.slice(0, i) + t.slice(i + 1),
      t.slice(0, i) + c + t.slice(i),
      t.slice(0, i) + c + t.slice(i + 1),
    ];
  });
}

/** The date reader before: a regular expression and `Date`. */
function regexDays(y: number, m: number, d: number): number | null {
  if (m < 1 || m > 12 || d < 1) return null;
  const check = new Date(Date.UTC(y, m - 1, d));
  if (check.getUTCDate() !== d || check.getUTCMonth() !== m - 1) return null;
  const at = new Date(0);
  at.setUTCFullYear(y, m - 1, d);
  return Math.round(at.getTime() / 86_400_000);
}

function regexDate(text: string): number | null {
  const m = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$/.exec(text);
  return m ? regexDays(Number(m[1]), Number(m[2]), Number(m[3])) : null;
}

/** The timestamp reader before. */
function regexTimestamp(text: string): number | null {
  const m =
    /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$/i.exec(
      text,
    );
  if (!m) return null;
  const days = regexDays(Number(m[1]), Number(m[2]), Number(m[3]));
  if (days === null) return null;
  const [h, min, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (h > 23 || min > 59 || s > 59) return null;
  const fraction = Number(((m[7] ?? '') + '000000').slice(0, 6));
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes =
      (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * (zone[0] === '-' ? -1 : 1);
  }
  return days * 86_400_000_000 + ((h * 60 + min - offsetMinutes) * 60 + s) * 1_000_000 + fraction;
}

/** A model with one numeric feature computed by `sql` from a text column `t`. */
function transformOf(sql: string): FittedTransform & { inputs: SourceColumn[] } {
  return {
    version: 1,
    numeric: [{ name: 'n0', sql, fill: 0, mean: 0, std: 1, indicator: false, missingRate: 0 }],
    categorical: [],
    label: { task: 'binary', sql: 'y', classes: ['0', '1'] },
    fittedOnRows: 1,
    inputs: [{ name: 't', type: 'VARCHAR' }],
  };
}
