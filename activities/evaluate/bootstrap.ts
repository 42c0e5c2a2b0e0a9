import { deriveSeed, mulberry32, SEED_PURPOSE } from '../../pipelines/prng.js';

export interface Interval {
  lo: number | null;
  hi: number | null;
}

/**
 * Seeded percentile bootstrap: `replicates` resamples of `n` rows with replacement, each expressed as
 * row weights (a row drawn k times weighs k), and the 2.5th and 97.5th percentiles of every statistic
 * `compute` returns. The same seed gives the same intervals; passing one `compute` that evaluates two
 * models on the same weights gives paired intervals for their difference. Replicates where a statistic
 * is undefined (e.g. AUC of a resample with one class) are left out of that statistic.
 */
export function bootstrap(
  n: number,
  replicates: number,
  seed: number,
  compute: (weights: Float64Array) => Record<string, number | null>,
): Record<string, Interval> {
  const samples: Record<string, number[]> = {};
  const weights = new Float64Array(n);
  for (let r = 0; r < replicates; r++) {
    const random = mulberry32(deriveSeed(seed, SEED_PURPOSE.bootstrap, r));
    weights.fill(0);
    for (let i = 0; i < n; i++) {
      const row = Math.floor(random() * n);
      weights[row] = (weights[row] as number) + 1;
    }
    for (const [name, value] of Object.entries(compute(weights))) {
      if (value === null || !Number.isFinite(value)) continue;
      (samples[name] ??= []).push(value);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => {
      values.sort((a, b) => a - b);
      return [name, { lo: quantile(values, 0.025), hi: quantile(values, 0.975) }];
    }),
  );
}

/** Linear-interpolated quantile of sorted values (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const low = sorted[below] as number;
  return low + ((sorted[above] as number) - low) * (position - below);
}
