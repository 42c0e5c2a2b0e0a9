import type { FittedCategorical, FittedTransform } from '../../pipelines/transform.js';
import { transformOutputNames } from '../../pipelines/transform.js';
import { hash32 } from './hash-bucket.js';

/** One request's feature inputs, by feature name: numbers, strings, booleans, bigints or missing. */
export type FeatureInputs = Record<string, unknown>;

/**
 * Apply a fitted transform to one row in JavaScript: the online half of docs/architecture.md decision 9, used by
 * serving. Mirrors `transform-sql.ts` operation for operation (same doubles, same order, one rounding
 * to float32 at the end), so batch and online features are bit-identical; a unit test holds it to that.
 */
export function transformRow(transform: FittedTransform, row: FeatureInputs): Float32Array {
  const out = new Float32Array(transformOutputNames(transform).length);
  transformRowInto(transform, row, out, 0);
  return out;
}

/** As {@link transformRow}, writing into `out` at `offset` (a row of a batch matrix). */
export function transformRowInto(
  transform: FittedTransform,
  row: FeatureInputs,
  out: Float32Array,
  offset: number,
): void {
  let j = offset;
  for (const f of transform.numeric) {
    const x = toDouble(row[f.name]);
    const missing = x === null || !Number.isFinite(x);
    const filled = missing ? f.fill : x;
    out[j++] = (filled - f.mean) / f.std;
    if (f.indicator) out[j++] = missing ? 1 : 0;
  }
  for (const f of transform.categorical) {
    const width = f.encoding === 'one-hot' ? f.vocabulary.length + 1 : f.buckets;
    const index = categoryIndex(f, toText(row[f.name]));
    for (let i = 0; i < width; i++) out[j + i] = i === index ? 1 : 0;
    j += width;
  }
}

function categoryIndex(f: FittedCategorical, text: string | null): number {
  if (f.encoding === 'hash') return hash32(text ?? '') % f.buckets;
  if (text === null) return f.vocabulary.length;
  const index = f.vocabulary.indexOf(text);
  return index === -1 ? f.vocabulary.length : index;
}

/** `TRY_CAST(x AS DOUBLE)`: numbers as they are, numeric text parsed, anything else missing. */
function toDouble(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value.trim());
    return Number.isNaN(parsed) && value.trim().toLowerCase() !== 'nan' ? null : parsed;
  }
  return null;
}

/** `CAST(x AS VARCHAR)` for the types a categorical may have (text, integers, booleans). */
function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  return JSON.stringify(value);
}
