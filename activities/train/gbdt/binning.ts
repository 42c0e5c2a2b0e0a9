/**
 * Feature binning for the histogram learner: every value becomes a small bin index (a byte), so a
 * histogram over a leaf is a few hundred slots per feature and splits are scanned over bins, not rows.
 *
 * Numeric features get quantile bins (at most `maxBins`, fewer when the column has fewer distinct
 * values) plus one bin for missing values (NaN). Categorical features take non-negative integer codes:
 * the `maxCategories` most frequent codes keep a bin each, every other code shares an "other" bin (with
 * a warning), and missing has its own bin. The same mapping bins validation data and is saved in the
 * model, so a category seen in training lands in the same bin when served.
 */

import type { FeatureBins, GbdtFeature } from '../../../lib/model/gbdt/features.js';

export type { FeatureBins, GbdtFeature, GbdtFeatureKind } from '../../../lib/model/gbdt/features.js';

/** A row-major `rows × features` matrix of bin indices, and the mapping that made it. */
export interface BinnedMatrix {
  bins: Uint8Array;
  rows: number;
  features: number;
  mappers: FeatureBins[];
}

export interface BinningOptions {
  maxBins: number;
  maxCategories: number;
  /** Rows sampled to find numeric bin bounds (all rows when fewer). */
  sampleRows?: number;
}

/** Fit bin mappers on the training rows; `warnings` says which categorical features were bucketed. */
export function fitBins(
  x: Float32Array,
  rows: number,
  features: readonly GbdtFeature[],
  options: BinningOptions,
): { mappers: FeatureBins[]; warnings: string[] } {
  const width = features.length;
  const warnings: string[] = [];
  const sampleRows = options.sampleRows ?? 200_000;
  const step = rows > sampleRows ? rows / sampleRows : 1;
  const mappers = features.map((feature, j): FeatureBins => {
    if (feature.kind === 'numeric') {
      const values: number[] = [];
      for (let s = 0; s < rows; s += step) {
        const v = x[Math.floor(s) * width + j] as number;
        if (!Number.isNaN(v)) values.push(v);
      }
      const upper = quantileBounds(Float64Array.from(values).sort(), options.maxBins);
      return { kind: 'numeric', upper, bins: upper.length + 1, missingBin: upper.length + 1 };
    }
    const counts = new Map<number, number>();
    for (let i = 0; i < rows; i++) {
      const v = x[i * width + j] as number;
      if (!Number.isNaN(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    for (const code of counts.keys()) {
      if (!Number.isInteger(code) || code < 0) {
        throw new RangeError(
          `categorical feature "${feature.name}" has the value ${code}: categorical codes must be non-negative integers`,
        );
      }
    }
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const kept = ranked.slice(0, options.maxCategories).map(([code]) => code);
    if (ranked.length > kept.length) {
      warnings.push(
        `categorical feature "${feature.name}" has ${ranked.length} levels, more than maxCategories = ${options.maxCategories}: the ${ranked.length - kept.length} rarest share one "other" bin (raise maxCategories, at most 254, to keep them apart)`,
      );
    }
    return {
      kind: 'categorical',
      codes: kept,
      otherBin: kept.length,
      missingBin: kept.length + 1,
      bins: kept.length + 2,
    };
  });
  return { mappers, warnings };
}

/**
 * Upper bounds of at most `maxBins` bins over sorted values: between distinct values when there are
 * few, else cut where the running count passes the next quantile, always at a midpoint between two
 * distinct values (so equal values never straddle bins).
 */
function quantileBounds(sorted: Float64Array, maxBins: number): number[] {
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i] as number;
    if (distinct.length > 0 && distinct[distinct.length - 1] === v) counts[counts.length - 1]! += 1;
    else {
      distinct.push(v);
      counts.push(1);
    }
  }
  const upper: number[] = [];
  if (distinct.length <= maxBins) {
    for (let k = 0; k + 1 < distinct.length; k++) upper.push(midpoint(distinct[k]!, distinct[k + 1]!));
    return upper;
  }
  const perBin = sorted.length / maxBins;
  let seen = 0;
  let nextCut = perBin;
  for (let k = 0; k + 1 < distinct.length && upper.length < maxBins - 1; k++) {
    seen += counts[k]!;
    if (seen >= nextCut) {
      upper.push(midpoint(distinct[k]!, distinct[k + 1]!));
      while (nextCut <= seen) nextCut += perBin;
    }
  }
  return upper;
}

function midpoint(a: number, b: number): number {
  const m = a + (b - a) / 2;
  return m >= b ? a : m;
}

/** The bin of one raw value under a mapper (the same rule the predictor follows on raw values). */
export function binOf(mapper: FeatureBins, v: number, codeIndex?: Map<number, number>): number {
  if (Number.isNaN(v)) return mapper.missingBin;
  if (mapper.kind === 'numeric') {
    const { upper } = mapper;
    let lo = 0;
    let hi = upper.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v <= upper[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
  return codeIndex?.get(v) ?? mapper.otherBin;
}

/** Bin a matrix (training or validation) with fitted mappers. */
export function applyBins(x: Float32Array, rows: number, mappers: readonly FeatureBins[]): BinnedMatrix {
  const width = mappers.length;
  const bins = new Uint8Array(rows * width);
  mappers.forEach((mapper, j) => {
    const codeIndex =
      mapper.kind === 'categorical' ? new Map(mapper.codes.map((code, b) => [code, b])) : undefined;
    for (let i = 0; i < rows; i++) bins[i * width + j] = binOf(mapper, x[i * width + j] as number, codeIndex);
  });
  return { bins, rows, features: width, mappers: [...mappers] };
}
