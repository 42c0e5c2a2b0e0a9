import type { FeatureBins } from './binning.js';
import type { TreeNodes } from '../../../lib/model/gbdt/forest.js';

/** The limits and penalties one tree is grown under (resolved GBDT params). */
export interface TreeLimits {
  numLeaves: number;
  /** 0: no limit. */
  maxDepth: number;
  minDataInLeaf: number;
  minSumHessian: number;
  l2: number;
  minSplitGain: number;
  learningRate: number;
  /** Added to the hessian when categories are ordered by gradient/hessian (LightGBM's cat_smooth). */
  catSmooth: number;
  /** Extra L2 on categorical splits, which fit more freely than numeric ones (LightGBM's cat_l2). */
  catL2: number;
  /** Categories with fewer rows in a leaf take no part in its split (they go right). */
  minDataPerCategory: number;
  /** At most this many categories go left in one split. */
  maxCatThreshold: number;
}

/**
 * Builds a leaf's histogram: for every row `order[begin … begin+count)`, add its gradient, hessian and
 * 1 to the slot of its bin in each feature. Slots are `(offset[f] + bin) * 3 + {0, 1, 2}`.
 * `histogram-threads.ts` makes it, summing large leaves on two threads.
 */
export type HistogramBuilder = (order: Uint32Array, begin: number, count: number, out: Float64Array) => void;

/** The binned training data and its histogram layout, shared by every tree. */
export interface GrowData {
  bins: Uint8Array;
  features: number;
  mappers: readonly FeatureBins[];
  /** First histogram slot of each feature. */
  offset: Int32Array;
  totalSlots: number;
}

export function histogramLayout(mappers: readonly FeatureBins[]): { offset: Int32Array; totalSlots: number } {
  const offset = new Int32Array(mappers.length);
  let total = 0;
  mappers.forEach((m, f) => {
    offset[f] = total;
    total += m.missingBin + 1;
  });
  return { offset, totalSlots: total };
}

/** A grown tree, and where each leaf's rows sit in the partitioned `order` (begin, count per leaf). */
export interface GrownTree {
  tree: TreeNodes;
  ranges: Uint32Array;
  /** A copy of the partitioned rows, when the shared `order` is reused before the scores are updated. */
  order?: Uint32Array;
}

interface Split {
  gain: number;
  feature: number;
  /** Numeric: the last bin that goes left. */
  bin: number;
  defaultLeft: boolean;
  /** Categorical: bins going left (256 bits); null for numeric. */
  cats: Uint32Array | null;
  leftG: number;
  leftH: number;
  leftC: number;
}

interface Leaf {
  begin: number;
  count: number;
  g: number;
  h: number;
  depth: number;
  hist: Float64Array;
  best: Split | null;
  /** The node whose child this leaf is (-1 for the root) and which side. */
  parent: number;
  isLeft: boolean;
}

/**
 * Grow one tree leaf-wise (always split the leaf with the largest gain) over the rows in `order`
 * (the round's bag), until `numLeaves` leaves or no split gains. The smaller child's histogram is
 * built from rows; the larger one's is the parent's minus it. `order` is partitioned in place.
 */
export function growTree(
  data: GrowData,
  g: Float64Array,
  h: Float64Array,
  order: Uint32Array,
  count: number,
  featureMask: Uint8Array,
  limits: TreeLimits,
  build: HistogramBuilder,
  pool: Float64Array[],
): GrownTree {
  const slots = data.totalSlots * 3;
  const take = () => pool.pop() ?? new Float64Array(slots);
  const tree: TreeNodes = {
    feature: [],
    threshold: [],
    catOffset: [],
    defaultLeft: [],
    left: [],
    right: [],
    catBits: [],
    leafValue: [],
    nodeCover: [],
    leafCover: [],
    root: ~0,
  };
  let sumG = 0;
  let sumH = 0;
  for (let p = 0; p < count; p++) {
    sumG += g[order[p]!]!;
    sumH += h[order[p]!]!;
  }
  const rootHist = take();
  build(order, 0, count, rootHist);
  const leaves: Leaf[] = [
    { begin: 0, count, g: sumG, h: sumH, depth: 0, hist: rootHist, best: null, parent: -1, isLeft: true },
  ];
  leaves[0]!.best = bestSplit(data, leaves[0]!, featureMask, limits);
  const scratch = new Uint32Array(count);

  while (leaves.length < limits.numLeaves) {
    let pick = -1;
    let bestGain = limits.minSplitGain;
    leaves.forEach((leaf, i) => {
      if (leaf.best && leaf.best.gain > bestGain) {
        bestGain = leaf.best.gain;
        pick = i;
      }
    });
    if (pick < 0) break;
    const leaf = leaves[pick]!;
    const split = leaf.best!;
    const node = tree.feature.length;
    const mapper = data.mappers[split.feature]!;
    tree.feature.push(split.feature);
    tree.threshold.push(
      mapper.kind === 'numeric' ? (mapper.upper[split.bin] ?? Number.POSITIVE_INFINITY) : 0,
    );
    tree.defaultLeft.push(split.defaultLeft ? 1 : 0);
    tree.nodeCover.push(leaf.count);
    if (split.cats) {
      tree.catOffset.push(tree.catBits.length);
      tree.catBits.push(...split.cats);
    } else tree.catOffset.push(-1);
    tree.left.push(~pick);
    tree.right.push(~leaves.length);
    if (leaf.parent < 0) tree.root = node;
    else if (leaf.isLeft) tree.left[leaf.parent] = node;
    else tree.right[leaf.parent] = node;

    const leftCount = partition(data, order, scratch, leaf.begin, leaf.count, split);
    const left: Leaf = {
      begin: leaf.begin,
      count: leftCount,
      g: split.leftG,
      h: split.leftH,
      depth: leaf.depth + 1,
      hist: leaf.hist,
      best: null,
      parent: node,
      isLeft: true,
    };
    const right: Leaf = {
      begin: leaf.begin + leftCount,
      count: leaf.count - leftCount,
      g: leaf.g - split.leftG,
      h: leaf.h - split.leftH,
      depth: leaf.depth + 1,
      hist: leaf.hist,
      best: null,
      parent: node,
      isLeft: false,
    };
    const [small, large] = left.count <= right.count ? [left, right] : [right, left];
    small.hist = take();
    build(order, small.begin, small.count, small.hist);
    const parentHist = large.hist;
    const smallHist = small.hist;
    for (let s = 0; s < slots; s++) parentHist[s] = parentHist[s]! - smallHist[s]!;
    leaves[pick] = left;
    leaves.push(right);
    const canSplit = (l: Leaf) =>
      l.count >= 2 * limits.minDataInLeaf && (limits.maxDepth === 0 || l.depth < limits.maxDepth);
    if (leaves.length < limits.numLeaves) {
      left.best = canSplit(left) ? bestSplit(data, left, featureMask, limits) : null;
      right.best = canSplit(right) ? bestSplit(data, right, featureMask, limits) : null;
    }
  }
  const ranges = new Uint32Array(leaves.length * 2);
  leaves.forEach((leaf, i) => {
    tree.leafValue.push((-leaf.g / (leaf.h + limits.l2)) * limits.learningRate);
    tree.leafCover.push(leaf.count);
    ranges[2 * i] = leaf.begin;
    ranges[2 * i + 1] = leaf.count;
    pool.push(leaf.hist);
  });
  return { tree, ranges };
}

/** Stable in-place partition of a leaf's rows: left rows first. Returns how many went left. */
function partition(
  data: GrowData,
  order: Uint32Array,
  scratch: Uint32Array,
  begin: number,
  count: number,
  split: Split,
): number {
  const { bins, features: F } = data;
  const f = split.feature;
  const missing = data.mappers[f]!.missingBin;
  let l = begin;
  let r = 0;
  const end = begin + count;
  for (let p = begin; p < end; p++) {
    const row = order[p]!;
    const bin = bins[row * F + f]!;
    const goLeft = split.cats
      ? ((split.cats[bin >>> 5]! >>> (bin & 31)) & 1) === 1
      : bin === missing
        ? split.defaultLeft
        : bin <= split.bin;
    if (goLeft) order[l++] = row;
    else scratch[r++] = row;
  }
  order.set(scratch.subarray(0, r), l);
  return l - begin;
}

/** The best split of a leaf over the sampled features, or null when none meets the limits. */
function bestSplit(data: GrowData, leaf: Leaf, featureMask: Uint8Array, limits: TreeLimits): Split | null {
  let best: Split | null = null;
  const { hist } = leaf;
  const { minDataInLeaf: minC, minSumHessian: minH, l2 } = limits;
  const G = leaf.g;
  const H = leaf.h;
  const C = leaf.count;
  const parentScore = (G * G) / (H + l2);
  for (let f = 0; f < data.features; f++) {
    if (featureMask[f] === 0) continue;
    const mapper = data.mappers[f]!;
    const base = data.offset[f]! * 3;
    if (mapper.kind === 'numeric') {
      const miss = base + mapper.missingBin * 3;
      const mG = hist[miss]!;
      const mH = hist[miss + 1]!;
      const mC = hist[miss + 2]!;
      let lg = 0;
      let lh = 0;
      let lc = 0;
      for (let b = 0; b < mapper.missingBin - 1; b++) {
        const s = base + b * 3;
        lg += hist[s]!;
        lh += hist[s + 1]!;
        lc += hist[s + 2]!;
        for (let side = 0; side < (mC > 0 ? 2 : 1); side++) {
          const LG = side === 1 ? lg + mG : lg;
          const LH = side === 1 ? lh + mH : lh;
          const LC = side === 1 ? lc + mC : lc;
          const RC = C - LC;
          const RH = H - LH;
          if (LC < minC || RC < minC || LH < minH || RH < minH) continue;
          const RG = G - LG;
          const gain = (LG * LG) / (LH + l2) + (RG * RG) / (RH + l2) - parentScore;
          if (best === null || gain > best.gain) {
            best = {
              gain,
              feature: f,
              bin: b,
              defaultLeft: mC > 0 ? side === 1 : LC >= RC,
              cats: null,
              leftG: LG,
              leftH: LH,
              leftC: LC,
            };
          }
        }
      }
      continue;
    }
    const used: number[] = [];
    for (let b = 0; b <= mapper.missingBin; b++) {
      if (hist[base + b * 3 + 2]! >= limits.minDataPerCategory) used.push(b);
    }
    if (used.length < 2) continue;
    const ratio = (b: number) => hist[base + b * 3]! / (hist[base + b * 3 + 1]! + limits.catSmooth);
    used.sort((a, b) => ratio(a) - ratio(b) || a - b);
    const cl2 = l2 + limits.catL2;
    const catParent = (G * G) / (H + cl2);
    const maxPrefix = Math.min(limits.maxCatThreshold, used.length - 1);
    // Left takes the lowest-ratio categories, or the highest (both ends, as LightGBM scans them).
    for (const direction of [1, -1]) {
      let lg = 0;
      let lh = 0;
      let lc = 0;
      for (let k = 0; k < maxPrefix; k++) {
        const b = used[direction === 1 ? k : used.length - 1 - k]!;
        const s = base + b * 3;
        lg += hist[s]!;
        lh += hist[s + 1]!;
        lc += hist[s + 2]!;
        const RC = C - lc;
        const RH = H - lh;
        if (lc < minC || RC < minC || lh < minH || RH < minH) continue;
        const RG = G - lg;
        const gain = (lg * lg) / (lh + cl2) + (RG * RG) / (RH + cl2) - catParent;
        if (best === null || gain > best.gain) {
          const cats = new Uint32Array(8);
          for (let j = 0; j <= k; j++) {
            const c = used[direction === 1 ? j : used.length - 1 - j]!;
            cats[c >>> 5] = (cats[c >>> 5]! | (1 << (c & 31))) >>> 0;
          }
          best = { gain, leftG: lg, leftH: lh, leftC: lc, feature: f, bin: -1, defaultLeft: false, cats };
        }
      }
    }
  }
  return best;
}
