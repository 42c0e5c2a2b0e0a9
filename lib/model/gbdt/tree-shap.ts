import { hasCovers, nodeRouter, type Forest } from './forest.js';

/**
 * Exact SHAP values for a tree ensemble: the polynomial-time path algorithm of Lundberg, Erion & Lee,
 * "Consistent Individualized Feature Attribution for Tree Ensembles" (Algorithm 2), with the
 * path-dependent expectation — a feature left out of a coalition follows both branches of a split,
 * weighted by the training rows (covers) that went each way.
 *
 * Contributions are per *player*, not per tree feature: `players[f]` maps tree feature `f` to the
 * player it belongs to, so a numeric value and its missing indicator are one feature to explain.
 * TreeSHAP treats repeated splits on a player along a path by unwinding them, so the values are the
 * exact Shapley values of the game whose players are the groups. For every row and output,
 * `expected[k] + Σ_p phi[p] == raw score` (local accuracy), up to floating-point rounding.
 */
export interface TreeShap {
  /** Players (contributions per row and output). */
  readonly players: number;
  /** Outputs: 1 (binary log-odds, regression) or the class count (per-class logits). */
  readonly outputs: number;
  /** The base value per output: the start score plus each tree's cover-weighted mean leaf. */
  readonly expected: Float64Array;
  /**
   * Contributions for `rows` tree rows of `x` (row-major, one column per tree feature, as the
   * predictor takes them): `phi[(i * outputs + k) * players + p]`.
   */
  explain(x: Float32Array, rows: number): Float64Array;
}

/** Thrown for a forest stored before node covers were kept: it predicts, but cannot be explained. */
export class NoCoversError extends Error {
  constructor() {
    super(
      'no explanations for this model version: it was trained before tree covers were stored; retrain it to explain its predictions',
    );
    this.name = 'NoCoversError';
  }
}

export function createTreeShap(forest: Forest, players: Int32Array, playerCount: number): TreeShap {
  if (!hasCovers(forest)) throw new NoCoversError();
  const { feature, left, right, leafValue, nodeCover, leafCover, root, catOffset, defaultLeft, threshold } =
    forest;
  if (players.length !== forest.features.length) {
    throw new RangeError(
      `players maps ${players.length} features but the forest has ${forest.features.length}`,
    );
  }
  const K = forest.outputs;
  const P = playerCount;
  const trees = root.length;
  const cover = (ref: number) => (ref >= 0 ? nodeCover[ref]! : leafCover[~ref]!);
  const route = nodeRouter(forest);

  // Depth of the deepest leaf, and each tree's cover-weighted mean (its contribution to the base value).
  let maxDepth = 0;
  const expected = Float64Array.from(forest.initScore);
  const meanOf = (ref: number, depth: number): number => {
    if (ref < 0) {
      maxDepth = Math.max(maxDepth, depth);
      return leafValue[~ref]!;
    }
    const total = cover(ref);
    if (total <= 0) return 0; // no training row reached this node (only possible below an empty leaf)
    return (
      (cover(left[ref]!) * meanOf(left[ref]!, depth + 1) +
        cover(right[ref]!) * meanOf(right[ref]!, depth + 1)) /
      total
    );
  };
  for (let t = 0; t < trees; t++) expected[t % K] = expected[t % K]! + meanOf(root[t]!, 0);

  // The unique path of each recursion level, stored one level after another (stride S).
  // A path holds the root element plus one per distinct player on it: at most min(depth, P) + 1.
  const S = Math.min(maxDepth, P) + 2;
  const levels = maxDepth + 2;
  const pathFeature = new Int32Array(levels * S);
  const zeroFraction = new Float64Array(levels * S);
  const oneFraction = new Float64Array(levels * S);
  const weight = new Float64Array(levels * S);

  const extend = (base: number, d: number, zero: number, one: number, player: number) => {
    pathFeature[base + d] = player;
    zeroFraction[base + d] = zero;
    oneFraction[base + d] = one;
    weight[base + d] = d === 0 ? 1 : 0;
    for (let i = d - 1; i >= 0; i--) {
      weight[base + i + 1] = weight[base + i + 1]! + (one * weight[base + i]! * (i + 1)) / (d + 1);
      weight[base + i] = (zero * weight[base + i]! * (d - i)) / (d + 1);
    }
  };

  const unwind = (base: number, d: number, at: number) => {
    const one = oneFraction[base + at]!;
    const zero = zeroFraction[base + at]!;
    let next = weight[base + d]!;
    for (let i = d - 1; i >= 0; i--) {
      if (one !== 0) {
        const kept = weight[base + i]!;
        weight[base + i] = (next * (d + 1)) / ((i + 1) * one);
        next = kept - (weight[base + i]! * zero * (d - i)) / (d + 1);
      } else {
        weight[base + i] = (weight[base + i]! * (d + 1)) / (zero * (d - i));
      }
    }
    for (let i = at; i < d; i++) {
      pathFeature[base + i] = pathFeature[base + i + 1]!;
      zeroFraction[base + i] = zeroFraction[base + i + 1]!;
      oneFraction[base + i] = oneFraction[base + i + 1]!;
    }
  };

  /** The total weight of the path with element `at` unwound, without changing the path. */
  const unwoundSum = (base: number, d: number, at: number): number => {
    const one = oneFraction[base + at]!;
    const zero = zeroFraction[base + at]!;
    let total = 0;
    if (one !== 0) {
      let next = weight[base + d]!;
      for (let i = d - 1; i >= 0; i--) {
        const part = next / ((i + 1) * one);
        total += part;
        next = weight[base + i]! - part * zero * (d - i);
      }
    } else {
      for (let i = d - 1; i >= 0; i--) total += weight[base + i]! / (zero * (d - i));
    }
    return total * (d + 1);
  };

  let phi: Float64Array = new Float64Array(0);
  let x: Float32Array = new Float32Array(0);
  let rowBase = 0;
  let outBase = 0;

  const recurse = (level: number, ref: number, depth: number, zero: number, one: number, player: number) => {
    const base = level * S;
    if (level > 0) {
      const from = base - S;
      for (let i = 0; i < depth; i++) {
        pathFeature[base + i] = pathFeature[from + i]!;
        zeroFraction[base + i] = zeroFraction[from + i]!;
        oneFraction[base + i] = oneFraction[from + i]!;
        weight[base + i] = weight[from + i]!;
      }
    }
    extend(base, depth, zero, one, player);
    if (ref < 0) {
      const value = leafValue[~ref]!;
      for (let i = 1; i <= depth; i++) {
        const w = unwoundSum(base, depth, i);
        const p = outBase + pathFeature[base + i]!;
        phi[p] = phi[p]! + w * (oneFraction[base + i]! - zeroFraction[base + i]!) * value;
      }
      return;
    }
    const f = feature[ref]!;
    const v = x[rowBase + f]!;
    const goLeft =
      catOffset[ref]! < 0 ? (Number.isNaN(v) ? defaultLeft[ref] === 1 : v <= threshold[ref]!) : route(ref, v);
    const hot = goLeft ? left[ref]! : right[ref]!;
    const cold = goLeft ? right[ref]! : left[ref]!;
    const total = cover(ref);
    const hotZero = cover(hot) / total;
    const coldZero = cover(cold) / total;
    const splitPlayer = players[f]!;
    let inZero = 1;
    let inOne = 1;
    let d = depth;
    for (let k = 0; k <= d; k++) {
      if (pathFeature[base + k] === splitPlayer) {
        inZero = zeroFraction[base + k]!;
        inOne = oneFraction[base + k]!;
        unwind(base, d, k);
        d -= 1;
        break;
      }
    }
    // A branch no training row took, that this row cannot take either, adds nothing: skip it.
    if (inOne > 0 || hotZero * inZero > 0) {
      recurse(level + 1, hot, d + 1, hotZero * inZero, inOne, splitPlayer);
    }
    if (coldZero * inZero > 0) recurse(level + 1, cold, d + 1, coldZero * inZero, 0, splitPlayer);
  };

  return {
    players: P,
    outputs: K,
    expected,
    explain(rowsX, rows) {
      const F = forest.features.length;
      if (rowsX.length !== rows * F) {
        throw new RangeError(`expected ${rows} rows of ${F} tree features, got ${rowsX.length} values`);
      }
      phi = new Float64Array(rows * K * P);
      x = rowsX;
      for (let i = 0; i < rows; i++) {
        rowBase = i * F;
        for (let t = 0; t < trees; t++) {
          const r = root[t]!;
          if (r < 0) continue;
          outBase = (i * K + (t % K)) * P;
          recurse(0, r, 0, 1, 1, -1);
        }
      }
      const out = phi;
      phi = new Float64Array(0);
      x = new Float32Array(0);
      return out;
    },
  };
}
