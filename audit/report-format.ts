import type { JsonValue } from '../pipelines/json.js';

/**
 * Wording shared by the Markdown and HTML reports, so both say the same thing the same way: times in
 * UTC with the zone written out, durations in units people use, hashes shortened only where the full
 * value is also given.
 */

/** `2026-11-24 00:20:17 UTC`, or an em dash when unknown. */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `850 ms`, `2.1 s`, `3 min 4 s`, `2 h 5 min`, `3 days 4 h`. */
export function took(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ${Math.round(s % 60)} s`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} days ${h % 24} h`;
}

/** A number with 4 significant decimals, `—` for null. */
export function num(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toPrecision(4).replace(/\.?0+$/, '');
}

/** `0.6222 (95% CI 0.5969–0.6440)`. */
export function estimate(value: number | null, lo: number | null, hi: number | null): string {
  if (value === null) return '— (undefined on this data)';
  return lo === null || hi === null ? num(value) : `${num(value)} (95% interval ${num(lo)} to ${num(hi)})`;
}

/** Bytes as `13.5 MB`. */
export function size(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit] ?? 'TB'}`;
}

/** A JSON value as one short line: scalars as they are, structures as compact JSON. */
export function inline(value: JsonValue | undefined, max = 160): string {
  if (value === undefined || value === null) return '—';
  const out = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/**
 * A message's content as a reader scans it: `approver: rita, decision: approve, comment: metrics fine`
 * (nested values as compact JSON), cut at `max` characters.
 */
export function describeContent(value: JsonValue | undefined, max = 240): string {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    return inline(value, max);
  }
  const out = Object.entries(value)
    .map(([key, v]) => `${key}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(', ');
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/** A capitalised state word for headings: `Succeeded`, `Stopped`. */
export function titleCase(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** `yes` / `no` / `—`. */
export function yesNo(value: boolean | null | undefined): string {
  return value === true ? 'yes' : value === false ? 'no' : '—';
}

/** What an approval decision was, in words. */
export function decided(decision: string): string {
  return decision === 'approve' ? 'approved' : decision === 'reject' ? 'rejected' : decision;
}
