import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSchema } from '../../pipelines/artifact.js';
import type { PiiKind, PiiPolicy, PiiSuspectAnomaly } from '../../pipelines/privacy.js';
import { sqlString } from '../../lib/duckdb.js';
import { cellText, ident } from './sql.js';

/** Values sampled from the snapshot for the heuristics (reservoir sample, fixed seed: reproducible). */
export const piiSampleSize = 2000;
/** Share of a column's sampled non-null values that must look personal before it is flagged. */
export const piiSuspectThreshold = 0.3;

/** Longest value the patterns look at: an e-mail address is at most 254 characters. */
const maxPiiValueLength = 320;

/** Column types that can hold e-mails, phone or card numbers. */
const sampledTypes = new Set(['VARCHAR', 'BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT']);

const emailPattern = String.raw`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`;
/** Grouped digits with an optional +country code or (area code); dates are excluded separately. */
const phonePattern = String.raw`(\+[0-9]{1,3}[ .\-]?)?(\([0-9]{1,4}\)[ .\-]?)?[0-9]{2,4}([ .\-][0-9]{2,5}){1,4}|\+[0-9]{7,15}`;
const datePattern = String.raw`[0-9]{4}[\-/.][0-9]{1,2}[\-/.][0-9]{1,2}|[0-9]{1,2}[\-/.][0-9]{1,2}[\-/.][0-9]{2,4}`;
/** 13–19 digits, optionally grouped by spaces or dashes; confirmed by the Luhn check in JS. */
const cardPattern = String.raw`[0-9]{4}([ \-]?[0-9]{2,4}){2,4}|[0-9]{13,19}`;

const expected: Record<PiiKind, string> = {
  'e-mail': 'no e-mail addresses in a column not marked pii',
  phone: 'no phone numbers in a column not marked pii',
  'card-number': 'no payment card numbers in a column not marked pii',
};

/**
 * Look for personal data the contract did not mark: e-mail addresses, phone numbers and payment card
 * numbers (Luhn-valid), in a reproducible sample of the snapshot's text and wide-integer columns.
 * Patterns run in DuckDB; only the digit strings of card-shaped values (at most the sample) come to
 * JavaScript, for the Luhn check. A column is flagged when at least {@link piiSuspectThreshold} of its
 * sampled values match, as a warning: heuristics can be wrong, marking the column is the fix.
 */
export async function findPiiSuspects(
  db: DuckDBConnection,
  snapshot: string,
  schema: readonly ColumnSchema[],
  policy: PiiPolicy,
): Promise<PiiSuspectAnomaly[]> {
  const columns = schema.filter((c) => sampledTypes.has(c.type) && !(c.name in policy));
  if (columns.length === 0) return [];
  const aliases = columns.map((_, i) => `c${i}`);
  const sample =
    `SELECT ${columns.map((c, i) => `CAST(${ident(c.name)} AS VARCHAR) AS ${aliases[i]}`).join(', ')} ` +
    `FROM read_parquet(${sqlString(snapshot)}) USING SAMPLE reservoir(${piiSampleSize} ROWS) REPEATABLE (7)`;
  // Long format (one row per column and sampled value), so the query holds four pattern expressions
  // whatever the width: with four per column, DuckDB's planning time grew with the square of the
  // column count (500 columns took 23 s, a 20 000-column CSV hung ingest for hours).
  // Values longer than any e-mail address (254 characters) are counted but not matched: the patterns
  // over a 20 MB text value took 10 s, and it cannot be personal data of these kinds anyway.
  const v = 't';
  const result = await db.runAndReadAll(
    `SELECT c, count(v) AS n, ` +
      `count(*) FILTER (WHERE regexp_full_match(${v}, ${sqlString(emailPattern)})) AS email, ` +
      `count(*) FILTER (WHERE regexp_full_match(${v}, ${sqlString(phonePattern)}) ` +
      `AND NOT regexp_full_match(${v}, ${sqlString(datePattern)}) ` +
      `AND length(regexp_replace(${v}, '[^0-9]', '', 'g')) BETWEEN 7 AND 15) AS phone, ` +
      `list(regexp_replace(${v}, '[^0-9]', '', 'g')) FILTER (WHERE regexp_full_match(${v}, ${sqlString(cardPattern)})) AS cards ` +
      `FROM (SELECT c, v, CASE WHEN length(v) <= ${maxPiiValueLength} THEN trim(v) END AS t ` +
      `FROM (UNPIVOT (${sample}) ON COLUMNS(*) INTO NAME c VALUE v)) GROUP BY c`,
  );
  const measured = new Map(result.getRowObjectsJS().map((r) => [cellText(r['c']), r] as const));

  const anomalies: PiiSuspectAnomaly[] = [];
  columns.forEach((column, i) => {
    const row = measured.get(aliases[i]!);
    const sampled = Number(row?.['n'] ?? 0);
    if (!row || sampled === 0) return;
    const cards = ((row['cards'] as string[] | null) ?? []).filter(
      (digits) => digits.length >= 13 && digits.length <= 19 && luhnValid(digits),
    ).length;
    const counts: [PiiKind, number][] = [
      ['card-number', cards],
      ['e-mail', Number(row['email'] ?? 0)],
      ['phone', Number(row['phone'] ?? 0)],
    ];
    const [kind, matched] = counts.reduce((best, next) => (next[1] > best[1] ? next : best));
    if (matched === 0 || matched / sampled < piiSuspectThreshold) return;
    anomalies.push({
      column: column.name,
      check: 'pii-suspect',
      expected: expected[kind],
      observed: kind,
      severity: 'warn',
      message:
        `column "${column.name}" looks like it holds ${kind === 'e-mail' ? 'e-mail addresses' : `${kind}s`} ` +
        `(${matched} of ${sampled} sampled values): mark it pii ('hash' or 'drop') in the contract, ` +
        'or ignore this warning if it is not personal data',
    });
  });
  return anomalies;
}

/** The Luhn checksum that every payment card number satisfies (and ~10% of random digit strings). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
