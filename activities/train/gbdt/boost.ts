import { deriveSeed, mulberry32 } from '../../../pipelines/prng.js';
import { applyBins, fitBins, type GbdtFeature } from './binning.js';
import { histogramPool, sharedBytes, sharedFloat64, sharedUint32 } from './histogram-threads.js';
import {
  appendTrees,
  createPredictor,
  emptyForest,
  truncateForest,
  type Forest,
  type GbdtObjective,
  type TreeNodes,
} from '../../../lib/model/gbdt/forest.js';
import { growTree, type GrownTree, histogramLayout, type GrowData, type TreeLimits } from './grow.js';
import { gradients, initialScores, meanLoss } from './objective.js';

/** Every knob of the learner, resolved (defaults applied by the trainer schema). */
export interface GbdtParams extends TreeLimits {
  objective: GbdtObjective;
  /** Class count for multi-class (ignored otherwise). */
  classes: number;
  /** Boosting rounds at most (each adds one tree, or one per class). */
  rounds: number;
  /** Fraction of training rows each round's trees see (1: all). */
  baggingFraction: number;
  /** Fraction of features each tree may split on (1: all). */
  featureFraction: number;
  maxBins: number;
  maxCategories: number;
  /** Stop after this many rounds without a better validation loss, keeping the best; 0: never. */
  earlyStoppingRounds: number;
  /** Smallest validation-loss improvement that counts as better. */
  minDelta: number;
  seed: number;
  /** Checkpoint every this many rounds (and at the end). */
  checkpointEvery: number;
}

/** Rows for the learner: `x` row-major `rows × features` (NaN = missing, categorical = integer codes). */
export interface GbdtData {
  x: Float32Array;
  y: Float32Array;
  w?: Float32Array;
  rows: number;
}

export interface RoundRecord {
  round: number;
  trainLoss: number;
  /** Mean loss on the validation split (on the training split when there is none). */
  validationLoss: number;
}

/** Where boosting stands after a round: the trees so far and the early-stopping state. */
export interface GbdtCheckpoint {
  round: number;
  forest: Forest;
  best: { round: number; validationLoss: number };
  sinceBest: number;
  history: RoundRecord[];
}

export interface GbdtFitOptions {
  resume?: GbdtCheckpoint;
  /** Awaited after every `checkpointEvery` rounds and at the end (`stopping` true). */
  onCheckpoint?: (checkpoint: GbdtCheckpoint, stopping: boolean) => Promise<void>;
  /** Called between trees, e.g. to heartbeat. */
  onTree?: () => void;
  signal?: AbortSignal;
  /** Threads summing histograms (default: the machine's parallelism; the trees are the same either way). */
  threads?: number;
}

export interface GbdtFit {
  /** The trees up to the best validation round. */
  forest: Forest;
  bestRound: number;
  roundsRun: number;
  stoppedEarly: boolean;
  history: RoundRecord[];
  warnings: string[];
  resumedFrom?: number;
}

const PURPOSE = { bagging: 21, features: 22 } as const;

/**
 * Fit a gradient-boosted tree ensemble. Deterministic: bins, bags and feature samples come from
 * `seed` and the round number, and every sum runs in a fixed order, so two fits with the same inputs
 * are bit-for-bit identical — and a fit resumed from a checkpoint ends with the same trees as one
 * never interrupted (the scores are rebuilt from the checkpoint's trees in the same order).
 */
export async function fitGbdt(
  features: readonly GbdtFeature[],
  train: GbdtData,
  validation: GbdtData | undefined,
  params: GbdtParams,
  options: GbdtFitOptions = {},
): Promise<GbdtFit> {
  const F = features.length;
  const K = params.objective === 'multiclass' ? params.classes : 1;
  const { mappers, warnings } = fitBins(train.x, train.rows, features, params);
  const binned = applyBins(train.x, train.rows, mappers);
  const layout = histogramLayout(mappers);
  // Shared memory, so a helper thread can sum half of each large leaf's rows.
  const data: GrowData = { bins: sharedBytes(binned.bins), features: F, mappers, ...layout };
  const init = initialScores(params.objective, train.y, train.w, train.rows, K);
  const limits: TreeLimits = { ...params };

  let forest = emptyForest(params.objective, K, init, [...features], mappers);
  let history: RoundRecord[] = [];
  let best = { round: 0, validationLoss: Infinity };
  let sinceBest = 0;
  let startRound = 0;
  const trees: TreeNodes[] = [];
  const resume = options.resume;
  if (resume) {
    forest = resume.forest;
    history = [...resume.history];
    best = { ...resume.best };
    sinceBest = resume.sinceBest;
    startRound = resume.round;
  }
  const trainScores = createPredictor(forest).raw(train.x, train.rows);
  const validScores = validation ? createPredictor(forest).raw(validation.x, validation.rows) : undefined;

  const g = new Float64Array(train.rows);
  const h = new Float64Array(train.rows);
  const gs = K > 1 ? Array.from({ length: K }, () => new Float64Array(train.rows)) : [];
  const hs = K > 1 ? Array.from({ length: K }, () => new Float64Array(train.rows)) : [];
  const gh = sharedFloat64(train.rows * 2);
  const lossRows = lossSample(train.rows);
  const order = sharedUint32(train.rows);
  const histograms = histogramPool(data, gh, order, options.threads);
  try {
    const build = histograms.build;
    const bag = new Uint32Array(train.rows);
    const featureMask = new Uint8Array(F);
    const pool: Float64Array[] = [];
    let stoppedEarly = false;
    let round = startRound;
    const snapshot = (): GbdtCheckpoint => {
      forest = appendTrees(forest, trees.splice(0));
      return { round, forest, best: { ...best }, sinceBest, history: [...history] };
    };

    while (round < params.rounds && !stoppedEarly) {
      options.signal?.throwIfAborted();
      const bagSize = drawBag(
        bag,
        train.rows,
        params.baggingFraction,
        deriveSeed(params.seed, PURPOSE.bagging, round),
      );
      const roundTrees: TreeNodes[] = [];
      // Every class's gradients come from the scores before this round.
      if (K > 1) {
        for (let k = 0; k < K; k++) {
          gradients(params.objective, trainScores, train.y, train.w, train.rows, K, k, gs[k]!, hs[k]!);
        }
      }
      const grownTrees: GrownTree[] = [];
      for (let k = 0; k < K; k++) {
        if (K > 1) {
          g.set(gs[k]!);
          h.set(hs[k]!);
        } else gradients(params.objective, trainScores, train.y, train.w, train.rows, K, k, g, h);
        for (let i = 0; i < train.rows; i++) {
          gh[2 * i] = g[i]!;
          gh[2 * i + 1] = h[i]!;
        }
        drawFeatures(
          featureMask,
          params.featureFraction,
          deriveSeed(params.seed, PURPOSE.features, round, k),
        );
        order.set(bag.subarray(0, bagSize));
        const grown = growTree(data, g, h, order, bagSize, featureMask, limits, build, pool);
        roundTrees.push(grown.tree);
        if (bagSize === train.rows) {
          grownTrees.push(K > 1 ? { ...grown, order: order.slice() } : grown);
        }
        options.onTree?.();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const step = createPredictor(
        appendTrees(emptyForest(params.objective, K, init, [...features], mappers), roundTrees),
      );
      // Bagged-out rows are not in any leaf's range: score the training rows by traversal instead.
      if (bagSize < train.rows) step.accumulate(train.x, train.rows, 0, K, trainScores);
      else grownTrees.forEach((grown, k) => addByLeaf(grown, grown.order ?? order, trainScores, K, k));
      if (validation && validScores) step.accumulate(validation.x, validation.rows, 0, K, validScores);
      trees.push(...roundTrees);
      round++;
      const trainLoss = sampledLoss(params.objective, trainScores, train, K, lossRows);
      const validationLoss =
        validation && validScores
          ? meanLoss(params.objective, validScores, validation.y, validation.w, validation.rows, K)
          : trainLoss;
      history.push({ round, trainLoss, validationLoss });
      if (validationLoss < best.validationLoss - params.minDelta) {
        best = { round, validationLoss };
        sinceBest = 0;
      } else sinceBest++;
      if (params.earlyStoppingRounds > 0 && sinceBest >= params.earlyStoppingRounds) stoppedEarly = true;
      const stopping = stoppedEarly || round >= params.rounds;
      if (options.onCheckpoint && (stopping || round % params.checkpointEvery === 0)) {
        await options.onCheckpoint(snapshot(), stopping);
      }
    }
    const all = snapshot().forest;
    const bestRound = best.round === 0 ? round : best.round;
    return {
      forest: truncateForest(all, bestRound * K),
      bestRound,
      roundsRun: round,
      stoppedEarly,
      history,
      warnings,
      ...(resume ? { resumedFrom: resume.round } : {}),
    };
  } finally {
    await histograms.close();
  }
}

/**
 * Add a tree's leaf values to the training scores by the partition its growth left behind: every row
 * is in exactly one leaf's range, so this equals traversing the tree (same value, added once).
 */
function addByLeaf(grown: GrownTree, order: Uint32Array, scores: Float64Array, K: number, k: number): void {
  const { ranges, tree } = grown;
  for (let leaf = 0; leaf < tree.leafValue.length; leaf++) {
    const value = tree.leafValue[leaf]!;
    const end = ranges[2 * leaf]! + ranges[2 * leaf + 1]!;
    for (let p = ranges[2 * leaf]!; p < end; p++) {
      const at = order[p]! * K + k;
      scores[at] = scores[at]! + value;
    }
  }
}

/** The round's bag: every row (fraction 1) or each row with probability `fraction`, in row order. */
function drawBag(bag: Uint32Array, rows: number, fraction: number, seed: number): number {
  if (fraction >= 1) {
    for (let i = 0; i < rows; i++) bag[i] = i;
    return rows;
  }
  const random = mulberry32(seed);
  let n = 0;
  for (let i = 0; i < rows; i++) if (random() < fraction) bag[n++] = i;
  return n;
}

/** Which features a tree may split on: all, or a seeded sample of `max(1, round(F × fraction))`. */
function drawFeatures(mask: Uint8Array, fraction: number, seed: number): void {
  const F = mask.length;
  if (fraction >= 1) {
    mask.fill(1);
    return;
  }
  const take = Math.max(1, Math.round(F * fraction));
  const random = mulberry32(seed);
  const order = Array.from({ length: F }, (_, i) => i);
  for (let i = F - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  mask.fill(0);
  for (let i = 0; i < take; i++) mask[order[i]!] = 1;
}

/** At most this many evenly spaced training rows measure the training loss each round. */
const TRAIN_LOSS_ROWS = 10_000;

function lossSample(rows: number): Uint32Array {
  const n = Math.min(rows, TRAIN_LOSS_ROWS);
  return Uint32Array.from({ length: n }, (_, i) => Math.floor((i * rows) / n));
}

/** Mean training loss over the fixed sample (the full split costs as much as a tree on large data). */
function sampledLoss(
  objective: GbdtParams['objective'],
  scores: Float64Array,
  train: GbdtData,
  K: number,
  rows: Uint32Array,
): number {
  const s = new Float64Array(rows.length * K);
  const y = new Float32Array(rows.length);
  const w = train.w ? new Float32Array(rows.length) : undefined;
  rows.forEach((r, i) => {
    s.set(scores.subarray(r * K, r * K + K), i * K);
    y[i] = train.y[r]!;
    if (w) w[i] = train.w![r]!;
  });
  return meanLoss(objective, s, y, w, rows.length, K);
}
