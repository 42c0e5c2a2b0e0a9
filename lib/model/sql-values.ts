/**
 * DuckDB values in JavaScript, for computing derived features at serving time exactly as DuckDB
 * computed them in training (docs/architecture.md decision 9). Every value of an expression has a
 * static type; at run time it is a plain JS value:
 *
 * | type | JS value |
 * | --- | --- |
 * | `int` (TINYINT … BIGINT) | integral number |
 * | `double` (DOUBLE, FLOAT, DECIMAL columns) | number |
 * | `decimal` (a literal such as `1.5`, only where it turns into a DOUBLE) | number |
 * | `text` | string |
 * | `bool` | boolean |
 * | `date` | days since 1970-01-01 |
 * | `timestamp` | microseconds since 1970-01-01 00:00:00 |
 *
 * and NULL is `null`.
 */
export type SqlType = 'int' | 'double' | 'decimal' | 'text' | 'bool' | 'date' | 'timestamp' | 'null';
export type SqlValue = number | string | boolean | null;

/** A value an expression cannot compute (DuckDB raises the same error in batch). */
export class SqlRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlRuntimeError';
  }
}

/** The static type of a source column's DuckDB type, or null when serving cannot read it. */
export function columnSqlType(duckType: string): SqlType | null {
  const t = duckType.toUpperCase();
  if (/^(U?TINYINT|U?SMALLINT|U?INTEGER|U?BIGINT|U?HUGEINT)$/.test(t)) return 'int';
  if (t === 'DOUBLE' || t === 'FLOAT' || t.startsWith('DECIMAL')) return 'double';
  if (t === 'VARCHAR') return 'text';
  if (t === 'BOOLEAN') return 'bool';
  if (t === 'DATE') return 'date';
  if (t === 'TIMESTAMP' || t === 'TIMESTAMP_S' || t === 'TIMESTAMP_MS' || t === 'TIMESTAMP_NS') {
    return 'timestamp';
  }
  return null;
}

/** What a request must send for a column of this DuckDB type, for messages and docs. */
export function describeJsonInput(duckType: string): string {
  switch (columnSqlType(duckType)) {
    case 'int':
      return 'an integer';
    case 'double':
      return 'a finite number';
    case 'text':
      return 'a string, number, boolean';
    case 'bool':
      return 'true or false';
    case 'date':
      return 'a date "YYYY-MM-DD"';
    case 'timestamp':
      return 'a timestamp "YYYY-MM-DD HH:MM:SS" (UTC, or with an offset)';
    case 'decimal':
    case 'null':
    case null:
      return `a ${duckType}`;
  }
}

/**
 * A request's JSON value for a source column of `duckType`, as DuckDB would hold it; `undefined`
 * when the value does not fit (the caller answers 400 naming the column and what to send).
 */
export function fromJson(value: unknown, duckType: string): SqlValue | undefined {
  return jsonReader(duckType)(value);
}

/** Reads one JSON value into a column's SQL value (`undefined`: it does not fit). */
export type JsonReader = (value: unknown) => SqlValue | undefined;

/**
 * {@link fromJson} for one column type, with the type resolved once: serving compiles one reader per
 * source column when a model version loads instead of matching the type name on every request.
 */
export function jsonReader(duckType: string): JsonReader {
  const type = columnSqlType(duckType);
  switch (type) {
    case 'int':
      return (value) =>
        value === null ? null : typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
    case 'double': {
      const float = duckType.toUpperCase() === 'FLOAT';
      return (value) => {
        if (value === null) return null;
        if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
        return float ? Math.fround(value) : value;
      };
    }
    case 'text':
      return (value) =>
        value === null
          ? null
          : typeof value === 'string'
            ? value
            : typeof value === 'number' || typeof value === 'boolean'
              ? String(value)
              : undefined;
    case 'bool':
      return (value) => (value === null ? null : typeof value === 'boolean' ? value : undefined);
    case 'date':
      return (value) =>
        value === null ? null : typeof value === 'string' ? (parseDate(value) ?? undefined) : undefined;
    case 'timestamp':
      return (value) =>
        value === null ? null : typeof value === 'string' ? (parseTimestamp(value) ?? undefined) : undefined;
    case 'decimal':
    case 'null':
    case null:
      return (value) => (value === null ? null : undefined);
  }
}

const dayMicros = 86_400_000_000;

/** Days since 1970-01-01 of a proleptic Gregorian date, or null when the month or day does not exist. */
function daysFromCivil(y: number, m: number, d: number): number | null {
  if (m < 1 || m > 12 || d < 1) return null;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (m === 2 ? (leap ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31)) return null;
  // H. Hinnant's days_from_civil: years from March, so a leap day ends the year.
  const ya = m <= 2 ? y - 1 : y;
  const era = Math.floor(ya / 400);
  const yoe = ya - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/**
 * The date and timestamp readers below walk the text once, digit by digit, instead of a regular
 * expression and `Date` per value: a request's timestamps are read on every predict. They accept
 * exactly what the expressions they replaced accepted (test/unit/derived-features.test.ts compares
 * them over generated and mangled values). `at` is the reader's position in the text.
 */
let at = 0;

/** A JS `\s` character (what the regular expressions skipped around a value). */
function isSpace(c: number): boolean {
  if (c > 32 && c < 0xa0) return false;
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function skipSpaces(text: string): void {
  while (at < text.length && isSpace(text.charCodeAt(at))) at++;
}

/** The digit at `i`, or -1. */
function digitAt(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** `count` digits from `at` as a number (advancing), or -1 when any is not a digit. */
function digits(text: string, count: number): number {
  let n = 0;
  for (let k = 0; k < count; k++) {
    const c = digitAt(text, at);
    if (c < 0) return -1;
    n = n * 10 + c;
    at++;
  }
  return n;
}

/** One or two digits from `at` (advancing), or -1. */
function oneOrTwoDigits(text: string): number {
  const first = digitAt(text, at);
  if (first < 0) return -1;
  at++;
  const second = digitAt(text, at);
  if (second < 0) return first;
  at++;
  return first * 10 + second;
}

/** `YYYY-M[M]-D[D]` from `at` (advancing): its day number, or null (not a date, or no such day). */
function readDate(text: string): number | null {
  const y = digits(text, 4);
  if (y < 0 || text.charCodeAt(at) !== 45 /* - */) return null;
  at++;
  const m = oneOrTwoDigits(text);
  if (m < 0 || text.charCodeAt(at) !== 45) return null;
  at++;
  const d = oneOrTwoDigits(text);
  if (d < 0) return null;
  return daysFromCivil(y, m, d);
}

/** `CAST(text AS DATE)`: `YYYY-MM-DD` (surrounding spaces allowed), else null. */
export function parseDate(text: string): number | null {
  at = 0;
  skipSpaces(text);
  const days = readDate(text);
  if (days === null) return null;
  skipSpaces(text);
  return at === text.length ? days : null;
}

/**
 * `CAST(text AS TIMESTAMP)`: a date, optionally ` HH:MM[:SS[.fraction]]` (or `T`), optionally `Z` or
 * an offset `±HH[:MM]` that is converted to UTC; fractions beyond microseconds are truncated. Else null.
 */
export function parseTimestamp(text: string): number | null {
  at = 0;
  skipSpaces(text);
  const days = readDate(text);
  if (days === null) return null;
  let h = 0;
  let min = 0;
  let s = 0;
  let fraction = 0;
  const separator = text.charCodeAt(at);
  if (
    (separator === 32 || separator === 84 || separator === 116) /* ' ', T, t */ &&
    digitAt(text, at + 1) >= 0
  ) {
    at++;
    h = oneOrTwoDigits(text);
    if (text.charCodeAt(at) !== 58 /* : */) return null;
    at++;
    min = digits(text, 2);
    if (min < 0) return null;
    if (text.charCodeAt(at) === 58 && digitAt(text, at + 1) >= 0 && digitAt(text, at + 2) >= 0) {
      at++;
      s = digits(text, 2);
      if (text.charCodeAt(at) === 46 /* . */ && digitAt(text, at + 1) >= 0) {
        at++;
        let scale = 100_000;
        for (let c = digitAt(text, at); c >= 0; c = digitAt(text, ++at)) {
          fraction += c * scale;
          scale /= 10;
          if (scale < 1) scale = 0;
        }
      }
    }
    if (h > 23 || min > 59 || s > 59) return null;
  }
  skipSpaces(text);
  let offsetMinutes = 0;
  const zone = text.charCodeAt(at);
  if (zone === 90 || zone === 122 /* Z, z */) at++;
  else if (
    (zone === 43 || zone === 45) /* +, - */ &&
    digitAt(text, at + 1) >= 0 &&
    digitAt(text, at + 2) >= 0
  ) {
    at++;
    offsetMinutes = digits(text, 2) * 60;
    const colon = text.charCodeAt(at) === 58 ? 1 : 0;
    if (digitAt(text, at + colon) >= 0 && digitAt(text, at + colon + 1) >= 0) {
      at += colon;
      offsetMinutes += digits(text, 2);
    }
    if (zone === 45) offsetMinutes = -offsetMinutes;
  }
  skipSpaces(text);
  if (at !== text.length) return null;
  return days * dayMicros + ((h * 60 + min - offsetMinutes) * 60 + s) * 1_000_000 + fraction;
}

/** Split a timestamp (µs) into its UTC calendar parts. */
export function timestampParts(micros: number): {
  days: number;
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micro: number;
} {
  const days = Math.floor(micros / dayMicros);
  const rest = micros - days * dayMicros;
  const secondsOfDay = Math.floor(rest / 1_000_000);
  // H. Hinnant's civil_from_days (what `Date` answers, without a Date per value): years from March.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return {
    days,
    year: yoe + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day: doy - Math.floor((153 * mp + 2) / 5) + 1,
    hour: Math.floor(secondsOfDay / 3600),
    minute: Math.floor(secondsOfDay / 60) % 60,
    second: secondsOfDay % 60,
    micro: rest - secondsOfDay * 1_000_000,
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `CAST(date AS VARCHAR)`. */
export function formatDate(days: number): string {
  const p = timestampParts(days * dayMicros);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

/** `CAST(timestamp AS VARCHAR)`: seconds always, the fraction only when non-zero (trailing zeros kept to µs). */
export function formatTimestamp(micros: number): string {
  const p = timestampParts(micros);
  const base = `${formatDate(p.days)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
  if (p.micro === 0) return base;
  return `${base}.${pad(p.micro, 6).replace(/0+$/, '')}`;
}

/** `TRY_CAST(text AS DOUBLE)`: DuckDB's number grammar (spaces trimmed, inf/nan words), else null. */
export function parseDouble(text: string): number | null {
  const t = text.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return Number.NaN;
  return null;
}

/** `CAST(x AS INTEGER)` from a DOUBLE: DuckDB rounds half to even (2.5 → 2, 3.5 → 4). */
export function roundHalfEven(x: number): number {
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : roundHalfAway(x);
}

/** `round(x)`, and `CAST(x AS INTEGER)` from text or a decimal: half away from zero (2.5 → 3, -2.5 → -3). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** A compile-time refusal: the message names the construct and the fix. */
export class FeatureCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeatureCompileError';
  }
}

/** Row of input values, by slot (the compiled expression's column order). */
export type Slots = readonly SqlValue[];
export type Evaluate = (row: Slots) => SqlValue;
export interface Compiled {
  type: SqlType;
  eval: Evaluate;
  /** Set on literals: a text literal compared with a date or number is cast to it, as DuckDB does. */
  literal?: true;
}

const isNumber = (t: SqlType) => t === 'int' || t === 'double' || t === 'decimal';

/** The one type several values (CASE branches, coalesce arguments) share, or a refusal naming them. */
export function unify(types: SqlType[], what: string): SqlType {
  const known = types.filter((t) => t !== 'null');
  if (known.length === 0) return 'null';
  if (known.every((t) => t === known[0])) return known[0] as SqlType;
  if (known.every(isNumber)) {
    if (known.includes('decimal')) {
      throw new FeatureCompileError(
        `${what} mixes a decimal literal with other numbers: write it as a DOUBLE (e.g. 1.5::DOUBLE)`,
      );
    }
    return 'double';
  }
  throw new FeatureCompileError(
    `${what} mixes ${[...new Set(known)].join(' and ')}: cast the branches to one type`,
  );
}
