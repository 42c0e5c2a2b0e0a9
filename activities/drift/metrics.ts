/**
 * Drift metrics over binned counts, as pure functions so unit tests can check them against values
 * worked out by hand. Counts come from DuckDB; nothing here sees a row.
 */

/** Bin proportions below this are raised to it in PSI (an empty bin would otherwise give ∞). */
export const psiEpsilon = 1e-4;

/** Counts as shares of their total (all zeros for an empty side). */
export function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((sum, count) => sum + count, 0);
  return counts.map((count) => (total === 0 ? 0 : count / total));
}

/**
 * Population stability index: Σ (qᵢ − pᵢ) · ln(qᵢ / pᵢ) over bins, p = reference shares, q = current
 * shares, each share floored at {@link psiEpsilon} (not renormalised). 0 = identical; above 0.2 is the
 * conventional "significant shift".
 */
export function populationStabilityIndex(reference: readonly number[], current: readonly number[]): number {
  const p = proportions(reference);
  const q = proportions(current);
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = Math.max(p[i] ?? 0, psiEpsilon);
    const qi = Math.max(q[i] ?? 0, psiEpsilon);
    sum += (qi - pi) * Math.log(qi / pi);
  }
  return sum;
}

/**
 * Jensen–Shannon distance with base-2 logarithms: √(½·KL(p‖m) + ½·KL(q‖m)), m = ½(p + q). Symmetric,
 * bounded to [0, 1], defined with empty bins (0·log 0 = 0), so it needs no epsilon.
 */
export function jensenShannonDistance(reference: readonly number[], current: readonly number[]): number {
  const p = proportions(reference);
  const q = proportions(current);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] ?? 0;
    const qi = q[i] ?? 0;
    const mi = (pi + qi) / 2;
    if (pi > 0) divergence += 0.5 * pi * Math.log2(pi / mi);
    if (qi > 0) divergence += 0.5 * qi * Math.log2(qi / mi);
  }
  // Rounding can leave a hair below zero for identical inputs.
  return Math.sqrt(Math.max(0, Math.min(1, divergence)));
}

/**
 * The Kolmogorov distribution's tail, Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2 j² λ²} (Numerical Recipes'
 * `probks`): the chance a KS statistic this large arises by chance. Returns 1 when the series does not
 * settle (λ near 0).
 */
export function kolmogorovTail(lambda: number): number {
  const a2 = -2 * lambda * lambda;
  let factor = 2;
  let sum = 0;
  let previous = 0;
  for (let j = 1; j <= 100; j++) {
    const term = factor * Math.exp(a2 * j * j);
    sum += term;
    if (Math.abs(term) <= 0.001 * previous || Math.abs(term) <= 1e-8 * sum)
      return Math.min(1, Math.max(0, sum));
    factor = -factor;
    previous = Math.abs(term);
  }
  return 1;
}

/**
 * The asymptotic p-value of a two-sample KS statistic `d` between samples of `n` and `m` values, with
 * Stephens' small-sample correction: Q((√nₑ + 0.12 + 0.11/√nₑ)·d), nₑ = nm/(n+m). Conservative with
 * ties (discrete data).
 */
export function ksPValue(d: number, n: number, m: number): number {
  if (n === 0 || m === 0) return 1;
  const root = Math.sqrt((n * m) / (n + m));
  return kolmogorovTail((root + 0.12 + 0.11 / root) * d);
}
