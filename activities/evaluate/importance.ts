import type { ArtifactStorage } from '../../lib/artifacts/index.js';
import { loadExplainer, NoExplainerError, type Explainer } from '../../lib/model/explain.js';
import type { GroupRow } from '../../pipelines/evaluation.js';
import type { ModelManifest } from '../../pipelines/model.js';
import type { Matrix } from '../train/load-matrix.js';
import type { SliceSpec } from './evaluate-core.js';

/** One feature's weight in the model's answers: mean |contribution| over the explained rows. */
export interface FeatureImportance {
  feature: string;
  /** Mean absolute contribution (summed over the classes for a multi-class model), in `space` units. */
  meanAbs: number;
  /** Its part of all features' mean absolute contributions (0–1). */
  share: number;
}

/** Global and per-slice importance, stored with the evaluation and shown on the model card. */
export interface ImportanceReport {
  method: Explainer['method'];
  space: Explainer['space'];
  /** Rows explained: evenly spaced through the evaluation rows, at most {@link IMPORTANCE_ROWS}. */
  rows: number;
  of: number;
  /** Most important first. */
  global: FeatureImportance[];
  /** For each slice group the evaluation reports: its explained rows and their importance. */
  slices: { slice: string; value: string; rows: number; features: FeatureImportance[] }[];
}

/** Or why there is none (a network with hidden layers, a model stored before explanations). */
export type ImportanceSection = ImportanceReport | { unavailable: string };

/** At most this many evaluation rows are explained: enough for stable averages, bounded in time. */
export const IMPORTANCE_ROWS = 1000;

/**
 * Mean |exact contribution| per feature over an evenly spaced sample of the evaluation rows, overall
 * and for each slice group in `groups`. Deterministic: the same rows in the same order, summed in order.
 */
export async function featureImportance(
  store: ArtifactStorage,
  manifest: ModelManifest,
  matrix: Matrix,
  slices: readonly SliceSpec[],
  groups: readonly GroupRow[],
  limit = IMPORTANCE_ROWS,
): Promise<ImportanceSection> {
  let explainer: Explainer;
  try {
    explainer = await loadExplainer(store, manifest);
  } catch (error) {
    if (error instanceof NoExplainerError) return { unavailable: error.message };
    throw error;
  }
  const n = Math.min(matrix.rows, limit);
  const picked = Array.from({ length: n }, (_, j) => Math.floor((j * matrix.rows) / n));
  const width = matrix.width;
  const x = new Float32Array(n * width);
  picked.forEach((row, j) => x.set(matrix.x.subarray(row * width, (row + 1) * width), j * width));
  const { phi } = explainer.explain(x, n);
  const K = explainer.outputs.length;
  const P = explainer.features.length;
  /** |phi| per sampled row and feature, summed over outputs. */
  const magnitude = new Float64Array(n * P);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < K; k++) {
      for (let p = 0; p < P; p++) {
        magnitude[j * P + p] = magnitude[j * P + p]! + Math.abs(phi[(j * K + k) * P + p]!);
      }
    }
  }
  const rank = (members: number[]): FeatureImportance[] => {
    const sums = new Float64Array(P);
    for (const j of members) for (let p = 0; p < P; p++) sums[p] = sums[p]! + magnitude[j * P + p]!;
    const total = sums.reduce((a, b) => a + b, 0);
    return explainer.features
      .map((feature, p) => ({
        feature,
        meanAbs: members.length > 0 ? sums[p]! / members.length : 0,
        share: total > 0 ? sums[p]! / total : 0,
      }))
      .sort((a, b) => b.meanAbs - a.meanAbs || (a.feature < b.feature ? -1 : 1));
  };
  const all = picked.map((_, j) => j);
  return {
    method: explainer.method,
    space: explainer.space,
    rows: n,
    of: matrix.rows,
    global: rank(all),
    slices: groups.map((g) => {
      const index = slices.findIndex((s) => s.name === g.slice);
      const values = matrix.extra[`__slice${index}`] ?? [];
      const members = all.filter((j) => values[picked[j]!] === g.value);
      return { slice: g.slice, value: g.value, rows: members.length, features: rank(members) };
    }),
  };
}
