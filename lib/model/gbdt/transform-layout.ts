import type { FittedTransform } from '../../../pipelines/transform.js';
import type { GbdtFeature } from './features.js';

/**
 * How a fitted transform's output columns become tree features. Trees need no scaling and split
 * categories natively, so each numeric column (and its missing indicator) is one numeric feature, and
 * each categorical block (one-hot over the vocabulary plus out-of-vocabulary, or hash buckets) is one
 * categorical feature whose code is the position of its 1. Batch and online transforms are unchanged:
 * serving computes the same transform row as for any model, then this layout.
 */
export interface GbdtLayout {
  features: GbdtFeature[];
  /** Per tree feature: first transform column and how many it spans (1 for numeric). */
  columns: { start: number; width: number }[];
  /** Transform output width. */
  inputWidth: number;
}

export function gbdtLayout(transform: FittedTransform): GbdtLayout {
  const features: GbdtFeature[] = [];
  const columns: { start: number; width: number }[] = [];
  let j = 0;
  for (const f of transform.numeric) {
    features.push({ name: f.name, kind: 'numeric' });
    columns.push({ start: j++, width: 1 });
    if (f.indicator) {
      features.push({ name: `${f.name}__missing`, kind: 'numeric' });
      columns.push({ start: j++, width: 1 });
    }
  }
  for (const f of transform.categorical) {
    const width = f.encoding === 'one-hot' ? f.vocabulary.length + 1 : f.buckets;
    features.push({ name: f.name, kind: 'categorical' });
    columns.push({ start: j, width });
    j += width;
  }
  return { features, columns, inputWidth: j };
}

/** Transform rows (`rows × inputWidth`) to tree rows (`rows × features`). */
export function toTreeRows(layout: GbdtLayout, x: Float32Array, rows: number): Float32Array {
  const F = layout.features.length;
  const out = new Float32Array(rows * F);
  for (let i = 0; i < rows; i++) {
    const base = i * layout.inputWidth;
    for (let f = 0; f < F; f++) {
      const { start, width } = layout.columns[f]!;
      if (width === 1 && layout.features[f]!.kind === 'numeric') {
        out[i * F + f] = x[base + start]!;
        continue;
      }
      let code = NaN;
      for (let c = 0; c < width; c++) {
        if (x[base + start + c] === 1) {
          code = c;
          break;
        }
      }
      out[i * F + f] = code;
    }
  }
  return out;
}
