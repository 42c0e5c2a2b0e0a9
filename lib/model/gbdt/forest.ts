import type { FeatureBins, GbdtFeature } from './features.js';

/**
 * A trained tree ensemble as flat arrays: no object per node, so it serialises as a handful of
 * base64 strings and predicting a row is a few array reads per level. Serving uses this directly
 * (no TF.js).
 *
 * Node `n` of any tree: `feature[n]` is the input column tested; for a numeric split the row goes left
 * when its value is <= `threshold[n]`, for a categorical split when its bin's bit is set in
 * `catBits[catOffset[n] …+8]` (256 bits); a missing (NaN) numeric value goes left when
 * `defaultLeft[n]` is 1. `left[n]`/`right[n]` are node indices, or `~leaf` (negative) for a leaf whose
 * value is `leafValue[leaf]`. Tree `t` starts at `root[t]` (a node, or `~leaf` for a one-leaf tree) and
 * adds to output `t % outputs`.
 */
export interface Forest {
  objective: GbdtObjective;
  /** 1 for binary and regression, the class count for multi-class. */
  outputs: number;
  /** The starting score per output (log-odds of the base rate, the mean, …). */
  initScore: Float64Array;
  features: GbdtFeature[];
  /** Bin mappers: the categorical ones route raw codes to bins when predicting. */
  mappers: FeatureBins[];
  root: Int32Array;
  /** Where tree t's nodes, leaves and bitset words begin (length trees + 1). */
  start: { nodes: Int32Array; leaves: Int32Array; cats: Int32Array };
  feature: Int32Array;
  threshold: Float64Array;
  catOffset: Int32Array;
  defaultLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  catBits: Uint32Array;
  leafValue: Float64Array;
  /**
   * Training rows (of the tree's bag) that reached each node and each leaf: the cover TreeSHAP weighs
   * paths by. Empty in forests trained before covers were stored (see {@link hasCovers}).
   */
  nodeCover: Float64Array;
  leafCover: Float64Array;
}

/** Whether the forest stores a cover for every node and leaf (forests trained before them do not). */
export function hasCovers(forest: Forest): boolean {
  return (
    forest.nodeCover.length === forest.feature.length && forest.leafCover.length === forest.leafValue.length
  );
}

export type GbdtObjective = 'binary' | 'multiclass' | 'regression';

/** One tree under construction, before it is appended to a {@link Forest}. */
export interface TreeNodes {
  feature: number[];
  threshold: number[];
  catOffset: number[];
  defaultLeft: number[];
  left: number[];
  right: number[];
  catBits: number[];
  leafValue: number[];
  nodeCover: number[];
  leafCover: number[];
  /** The root: 0, or `~0` when the tree is a single leaf. */
  root: number;
}

export function emptyForest(
  objective: GbdtObjective,
  outputs: number,
  initScore: Float64Array,
  features: GbdtFeature[],
  mappers: FeatureBins[],
): Forest {
  return {
    objective,
    outputs,
    initScore,
    features,
    mappers,
    root: new Int32Array(0),
    start: { nodes: new Int32Array(1), leaves: new Int32Array(1), cats: new Int32Array(1) },
    feature: new Int32Array(0),
    threshold: new Float64Array(0),
    catOffset: new Int32Array(0),
    defaultLeft: new Uint8Array(0),
    left: new Int32Array(0),
    right: new Int32Array(0),
    catBits: new Uint32Array(0),
    leafValue: new Float64Array(0),
    nodeCover: new Float64Array(0),
    leafCover: new Float64Array(0),
  };
}

/** A new forest with `trees` appended (node, leaf and bitset indices shifted to their new place). */
export function appendTrees(forest: Forest, trees: readonly TreeNodes[]): Forest {
  const nodeBase = forest.feature.length;
  const leafBase = forest.leafValue.length;
  const catBase = forest.catBits.length;
  const add = { nodes: 0, leaves: 0, cats: 0 };
  for (const t of trees) {
    add.nodes += t.feature.length;
    add.leaves += t.leafValue.length;
    add.cats += t.catBits.length;
  }
  const grow = <T extends Int32Array | Float64Array | Uint8Array | Uint32Array>(
    old: T,
    extra: number,
    make: (n: number) => T,
  ): T => {
    const out = make(old.length + extra);
    out.set(old);
    return out;
  };
  const next: Forest = {
    ...forest,
    root: grow(forest.root, trees.length, (n) => new Int32Array(n)),
    start: {
      nodes: grow(forest.start.nodes, trees.length, (n) => new Int32Array(n)),
      leaves: grow(forest.start.leaves, trees.length, (n) => new Int32Array(n)),
      cats: grow(forest.start.cats, trees.length, (n) => new Int32Array(n)),
    },
    feature: grow(forest.feature, add.nodes, (n) => new Int32Array(n)),
    threshold: grow(forest.threshold, add.nodes, (n) => new Float64Array(n)),
    catOffset: grow(forest.catOffset, add.nodes, (n) => new Int32Array(n)),
    defaultLeft: grow(forest.defaultLeft, add.nodes, (n) => new Uint8Array(n)),
    left: grow(forest.left, add.nodes, (n) => new Int32Array(n)),
    right: grow(forest.right, add.nodes, (n) => new Int32Array(n)),
    catBits: grow(forest.catBits, add.cats, (n) => new Uint32Array(n)),
    leafValue: grow(forest.leafValue, add.leaves, (n) => new Float64Array(n)),
    nodeCover: grow(forest.nodeCover, add.nodes, (n) => new Float64Array(n)),
    leafCover: grow(forest.leafCover, add.leaves, (n) => new Float64Array(n)),
  };
  let nodes = nodeBase;
  let leaves = leafBase;
  let cats = catBase;
  let treeIndex = forest.root.length;
  const shift = (ref: number, n: number, l: number) => (ref >= 0 ? ref + n : ~(~ref + l));
  for (const t of trees) {
    next.root[treeIndex++] = shift(t.root, nodes, leaves);
    for (let k = 0; k < t.feature.length; k++) {
      const at = nodes + k;
      next.feature[at] = t.feature[k]!;
      next.threshold[at] = t.threshold[k]!;
      next.catOffset[at] = t.catOffset[k]! < 0 ? -1 : t.catOffset[k]! + cats;
      next.defaultLeft[at] = t.defaultLeft[k]!;
      next.left[at] = shift(t.left[k]!, nodes, leaves);
      next.right[at] = shift(t.right[k]!, nodes, leaves);
    }
    next.catBits.set(t.catBits, cats);
    next.leafValue.set(t.leafValue, leaves);
    // A forest without covers (resumed from an old checkpoint) stays without: the lengths then differ.
    if (next.nodeCover.length === next.feature.length) next.nodeCover.set(t.nodeCover, nodes);
    if (next.leafCover.length === next.leafValue.length) next.leafCover.set(t.leafCover, leaves);
    nodes += t.feature.length;
    leaves += t.leafValue.length;
    cats += t.catBits.length;
    next.start.nodes[treeIndex] = nodes;
    next.start.leaves[treeIndex] = leaves;
    next.start.cats[treeIndex] = cats;
  }
  return next;
}

/** The first `trees` trees of a forest (early stopping keeps the best round's prefix). */
export function truncateForest(forest: Forest, trees: number): Forest {
  if (trees >= forest.root.length) return forest;
  const nodes = forest.start.nodes[trees]!;
  const leaves = forest.start.leaves[trees]!;
  const cats = forest.start.cats[trees]!;
  return {
    ...forest,
    start: {
      nodes: forest.start.nodes.slice(0, trees + 1),
      leaves: forest.start.leaves.slice(0, trees + 1),
      cats: forest.start.cats.slice(0, trees + 1),
    },
    root: forest.root.slice(0, trees),
    feature: forest.feature.slice(0, nodes),
    threshold: forest.threshold.slice(0, nodes),
    catOffset: forest.catOffset.slice(0, nodes),
    defaultLeft: forest.defaultLeft.slice(0, nodes),
    left: forest.left.slice(0, nodes),
    right: forest.right.slice(0, nodes),
    catBits: forest.catBits.slice(0, cats),
    leafValue: forest.leafValue.slice(0, leaves),
    nodeCover: forest.nodeCover.slice(0, nodes),
    leafCover: forest.leafCover.slice(0, leaves),
  };
}

/** A forest ready to score raw rows: the categorical code → bin lookups built once. */
export interface ForestPredictor {
  readonly forest: Forest;
  readonly width: number;
  /**
   * Raw scores (log-odds, class logits or the value) for `rows` rows of `x` (row-major, one column per
   * feature, categorical columns as their codes, NaN for missing), using the first `trees` trees.
   */
  raw(x: Float32Array, rows: number, trees?: number): Float64Array;
  /** Add trees `from … to-1` to `out` (the scores so far), in tree order. */
  accumulate(x: Float32Array, rows: number, from: number, to: number, out: Float64Array): void;
  /** Probabilities (binary: P(positive); multi-class: row-major per class) or values (regression). */
  predict(x: Float32Array, rows: number): Float32Array;
}

export function createPredictor(forest: Forest): ForestPredictor {
  const width = forest.features.length;
  const codeToBin: (Int32Array | undefined)[] = forest.mappers.map((m) => {
    if (m.kind !== 'categorical') return undefined;
    const max = m.codes.reduce((a, b) => Math.max(a, b), -1);
    const table = new Int32Array(max + 1).fill(m.otherBin);
    m.codes.forEach((code, b) => (table[code] = b));
    return table;
  });
  const otherBin = forest.mappers.map((m) => (m.kind === 'categorical' ? m.otherBin : 0));
  const missingBin = forest.mappers.map((m) => m.missingBin);
  const { feature, threshold, catOffset, defaultLeft, left, right, catBits, leafValue, root } = forest;
  const K = forest.outputs;

  const accumulate = (x: Float32Array, rows: number, from: number, to: number, out: Float64Array) => {
    for (let i = 0; i < rows; i++) {
      const base = i * width;
      for (let t = from; t < to; t++) {
        let node = root[t]!;
        while (node >= 0) {
          const f = feature[node]!;
          const v = x[base + f]!;
          const cat = catOffset[node]!;
          let goLeft: boolean;
          if (cat < 0) goLeft = Number.isNaN(v) ? defaultLeft[node] === 1 : v <= threshold[node]!;
          else {
            const table = codeToBin[f]!;
            const bin = Number.isNaN(v)
              ? missingBin[f]!
              : v >= 0 && v < table.length && Number.isInteger(v)
                ? table[v]!
                : otherBin[f]!;
            goLeft = ((catBits[cat + (bin >>> 5)]! >>> (bin & 31)) & 1) === 1;
          }
          node = goLeft ? left[node]! : right[node]!;
        }
        const at = i * K + (t % K);
        out[at] = out[at]! + leafValue[~node]!;
      }
    }
  };
  const raw = (x: Float32Array, rows: number, trees = root.length): Float64Array => {
    const out = new Float64Array(rows * K);
    for (let i = 0; i < rows; i++) out.set(forest.initScore, i * K);
    accumulate(x, rows, 0, trees, out);
    return out;
  };

  return {
    forest,
    width,
    raw,
    accumulate,
    predict(x, rows) {
      const scores = raw(x, rows);
      return toOutput(forest.objective, scores, rows, K);
    },
  };
}

/** Scores to what a user reads: sigmoid, softmax or the value itself. */
export function toOutput(
  objective: GbdtObjective,
  scores: Float64Array,
  rows: number,
  K: number,
): Float32Array {
  const out = new Float32Array(rows * K);
  switch (objective) {
    case 'binary':
      for (let i = 0; i < rows; i++) out[i] = 1 / (1 + Math.exp(-scores[i]!));
      return out;
    case 'regression':
      out.set(scores);
      return out;
    case 'multiclass':
      for (let i = 0; i < rows; i++) {
        let max = -Infinity;
        for (let k = 0; k < K; k++) max = Math.max(max, scores[i * K + k]!);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += Math.exp(scores[i * K + k]! - max);
        for (let k = 0; k < K; k++) out[i * K + k] = Math.exp(scores[i * K + k]! - max) / sum;
      }
      return out;
  }
}

/**
 * Which way a row's value goes at a node, exactly as the predictor routes it (numeric threshold with
 * the learned default for NaN; categorical codes through their bins). For explainers, which walk
 * nodes one at a time; the predictor keeps its own inlined copy of this for speed.
 */
export function nodeRouter(forest: Forest): (node: number, value: number) => boolean {
  const codeToBin: (Int32Array | undefined)[] = forest.mappers.map((m) => {
    if (m.kind !== 'categorical') return undefined;
    const max = m.codes.reduce((a, b) => Math.max(a, b), -1);
    const table = new Int32Array(max + 1).fill(m.otherBin);
    m.codes.forEach((code, b) => (table[code] = b));
    return table;
  });
  const { feature, threshold, catOffset, defaultLeft, catBits, mappers } = forest;
  return (node, v) => {
    const cat = catOffset[node]!;
    if (cat < 0) return Number.isNaN(v) ? defaultLeft[node] === 1 : v <= threshold[node]!;
    const f = feature[node]!;
    const mapper = mappers[f]!;
    const table = codeToBin[f]!;
    const bin = Number.isNaN(v)
      ? mapper.missingBin
      : v >= 0 && v < table.length && Number.isInteger(v)
        ? table[v]!
        : mapper.kind === 'categorical'
          ? mapper.otherBin
          : 0;
    return ((catBits[cat + (bin >>> 5)]! >>> (bin & 31)) & 1) === 1;
  };
}
