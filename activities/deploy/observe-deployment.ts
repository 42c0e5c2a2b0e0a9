import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeployObservation, VersionWindow } from '../../pipelines/deploy-rules.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { populationStabilityIndex } from '../drift/metrics.js';

/** Which versions to compare, over which window of the prediction log. */
export interface ObserveRequest {
  model: string;
  candidateVersion: number;
  /** Production when the window opened; null for a model's first deployment. */
  productionVersion: number | null;
  /** Epoch milliseconds: inclusive start, exclusive end. */
  from: number;
  to: number;
}

/** Score bins for PSI: deciles of production's scores in the window. */
const BINS = 10;

/**
 * Read what serving logged for the candidate (canary or shadow) and for production over the window,
 * and return the numbers the deploy workflow decides with: predictions, errors (non-finite scores),
 * mean score, and the PSI of the candidate's score distribution against production's on decile bins
 * of production's scores. Only whole Parquet files exist in the log (atomic rotation), so a read never
 * sees half a batch. An absent log is an empty window, not an error: the workflow rolls back on it.
 */
export async function observeDeployment(logDir: string, request: ObserveRequest): Promise<DeployObservation> {
  const dir = join(logDir, request.model);
  const files = (await readdir(dir).catch(() => [] as string[])).filter(
    (f) => f.endsWith('.parquet') && !f.startsWith('.'),
  );
  const versions = [request.candidateVersion, request.productionVersion].filter(
    (v): v is number => v !== null,
  );
  const scores: Record<number, number[]> = {};
  for (const v of versions) scores[v] = [];
  if (files.length > 0) {
    const rows = await withDuckDB(async (db) => {
      const reader = await db.runAndReadAll(
        `SELECT version, score FROM read_parquet(${sqlString(join(dir, '*.parquet'))}) WHERE time >= epoch_ms(${Math.floor(request.from)}::BIGINT) AND time < epoch_ms(${Math.ceil(request.to)}::BIGINT) AND version IN (${versions.join(', ')})`,
      );
      return reader.getRowObjectsJS() as { version: number; score: number | null }[];
    });
    for (const row of rows) scores[row.version]?.push(row.score ?? Number.NaN);
  }
  const candidate = window(request.candidateVersion, scores[request.candidateVersion] ?? []);
  const production =
    request.productionVersion === null
      ? null
      : window(request.productionVersion, scores[request.productionVersion] ?? []);
  const finite = (v: number[]): number[] => v.filter((x) => Number.isFinite(x));
  const psi =
    production && production.predictions > 0 && candidate.predictions > 0
      ? scorePsi(
          finite(scores[request.productionVersion ?? -1] ?? []),
          finite(scores[request.candidateVersion] ?? []),
        )
      : null;
  return { from: request.from, to: request.to, candidate, production, psi };
}

function window(version: number, values: number[]): VersionWindow {
  const finite = values.filter((v) => Number.isFinite(v));
  const meanScore = finite.length === 0 ? null : finite.reduce((a, b) => a + b, 0) / finite.length;
  return { version, predictions: values.length, errors: values.length - finite.length, meanScore };
}

/** PSI of `current` against `reference`, on bins cut at the reference's deciles. */
export function scorePsi(reference: number[], current: number[]): number | null {
  if (reference.length === 0 || current.length === 0) return null;
  const sorted = [...reference].sort((a, b) => a - b);
  const edges = [
    ...new Set(
      Array.from({ length: BINS - 1 }, (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / BINS)] ?? 0),
    ),
  ];
  const counts = (values: number[]): number[] => {
    const bins = new Array<number>(edges.length + 1).fill(0);
    for (const v of values) {
      let i = 0;
      while (i < edges.length && v >= (edges[i] ?? Number.POSITIVE_INFINITY)) i++;
      bins[i] = (bins[i] ?? 0) + 1;
    }
    return bins;
  };
  return populationStabilityIndex(counts(reference), counts(current));
}
