import type { DuckDBConnection } from '@duckdb/node-api';
import {
  judgeDrift,
  thresholdsFor,
  type DriftOptions,
  type DriftReport,
  type DriftSide,
  type FeatureDrift,
} from '../../pipelines/drift.js';
import type { DatasetFormat } from '../dataset-reader.js';
import { datasetReader } from '../dataset-reader.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { mapEntries, readOneRow, toCount, toNumber } from '../../lib/duckdb-values.js';
import { describeRelation, unreadable } from '../statistics/compute-statistics.js';
import type { ColumnInfo } from '../statistics/statistics-sql.js';
import { binCountsSql, ksSql, referenceBinsSql, type BinSpec, type DriftFeature } from './drift-sql.js';
import {
  jensenShannonDistance,
  ksPValue,
  populationStabilityIndex,
  proportions,
  psiEpsilon,
} from './metrics.js';

/** One side of a comparison: a dataset file and how to name it. */
export interface DriftInput {
  path: string;
  name: string;
  sha256?: string;
  format?: DatasetFormat;
}

const views = { reference: 'ref_data', current: 'cur_data' } as const;

/**
 * Compare a current dataset with a reference, feature by feature: PSI and Jensen–Shannon distance on
 * categorical values and on numeric values binned at the reference's quantiles, plus the two-sample
 * Kolmogorov–Smirnov test for numeric features. DuckDB does the counting in a fixed number of scans (one
 * over the reference for bin edges, one per side for the counts, and one grouped KS query per numeric
 * feature); JavaScript only sees bin counts.
 *
 * @throws InvalidInputError when either file cannot be read, naming it.
 */
export async function detectDrift(
  reference: DriftInput,
  current: DriftInput,
  options: DriftOptions,
): Promise<DriftReport> {
  return withDuckDB(async (db) => {
    const columns = {
      reference: await openSide(db, views.reference, reference),
      current: await openSide(db, views.current, current),
    };
    const { features, skipped, schema } = chooseFeatures(columns.reference, columns.current, options);
    try {
      return await compare(db, features, { reference, current }, options, { skipped, schema });
    } catch (error) {
      throw unreadable(`${reference.name} / ${current.name}`, `${reference.path}, ${current.path}`, error);
    }
  });
}

async function openSide(db: DuckDBConnection, view: string, input: DriftInput): Promise<ColumnInfo[]> {
  try {
    await db.run(`CREATE VIEW ${view} AS SELECT * FROM ${datasetReader(input.path, input.format)}`);
    return await describeRelation(db, view);
  } catch (error) {
    throw unreadable(input.name, input.path, error);
  }
}

function chooseFeatures(
  reference: readonly ColumnInfo[],
  current: readonly ColumnInfo[],
  options: DriftOptions,
): { features: DriftFeature[]; skipped: DriftReport['skipped']; schema: DriftReport['schema'] } {
  const cur = new Map(current.map((column) => [column.name, column]));
  const ref = new Map(reference.map((column) => [column.name, column]));
  const schema: DriftReport['schema'] = {
    onlyInReference: reference.filter((c) => !cur.has(c.name)).map((c) => c.name),
    onlyInCurrent: current.filter((c) => !ref.has(c.name)).map((c) => c.name),
    typeChanged: reference
      .filter((c) => cur.has(c.name) && cur.get(c.name)?.type !== c.type)
      .map((c) => ({ column: c.name, reference: c.type, current: cur.get(c.name)?.type ?? '' })),
  };
  const skipped: DriftReport['skipped'] = [];
  const features: DriftFeature[] = [];
  const names = options.columns ?? reference.filter((c) => cur.has(c.name)).map((c) => c.name);
  for (const name of names) {
    const r = ref.get(name);
    const c = cur.get(name);
    if (!r || !c) {
      skipped.push({ column: name, reason: `missing from the ${r ? 'current' : 'reference'} dataset` });
      continue;
    }
    const kind = kindOf(r, options.columns !== undefined);
    if (kind === null) {
      if (options.columns) skipped.push({ column: name, reason: `${r.type} columns are not compared` });
      continue;
    }
    if (kindOf(c, true) !== kind) {
      skipped.push({ column: name, reason: `type changed from ${r.type} to ${c.type}` });
      continue;
    }
    features.push({ column: name, family: r.family, kind });
  }
  return { features, skipped, schema };
}

/** Numbers are numeric features, text and booleans categorical; dates only when asked for by name. */
function kindOf(column: ColumnInfo, named: boolean): DriftFeature['kind'] | null {
  switch (column.family) {
    case 'integer':
    case 'float':
    case 'decimal':
      return 'numeric';
    case 'date':
    case 'timestamp':
      return named ? 'numeric' : null;
    case 'string':
    case 'boolean':
      return 'categorical';
    case 'time':
    case 'other':
      return null;
    default: {
      const never: never = column.family;
      return never;
    }
  }
}

async function compare(
  db: DuckDBConnection,
  candidates: DriftFeature[],
  inputs: { reference: DriftInput; current: DriftInput },
  options: DriftOptions,
  partial: Pick<DriftReport, 'skipped' | 'schema'>,
): Promise<DriftReport> {
  const edgesRow = await readOneRow(
    db,
    referenceBinsSql(views.reference, candidates, options.bins, options.categories),
  );
  const features: DriftFeature[] = [];
  const specs: BinSpec[] = [];
  candidates.forEach((feature, i) => {
    const raw = edgesRow[`f${i}`];
    const values = Array.isArray(raw) ? (raw as unknown[]) : [];
    if (values.length === 0) {
      partial.skipped.push({ column: feature.column, reason: 'no values in the reference dataset' });
      return;
    }
    features.push(feature);
    specs.push(
      feature.kind === 'categorical'
        ? { kind: 'categorical', values: values.map(String) }
        : { kind: 'numeric', edges: [...new Set(values.map((v) => toNumber(v) ?? 0))].sort((a, b) => a - b) },
    );
  });

  const counts = {
    reference: await countBins(db, views.reference, features, specs),
    current: await countBins(db, views.current, features, specs),
  };
  const results: FeatureDrift[] = [];
  for (const [i, feature] of features.entries()) {
    const spec = specs[i] as BinSpec;
    const labels = binLabels(feature, spec);
    const refAll = counts.reference.bins[i] as number[];
    const curAll = counts.current.bins[i] as number[];
    const pooled = (b: number): boolean => b >= labels.length - (spec.kind === 'categorical' ? 2 : 1);
    // Pooled bins ((other), (missing)) that both sides leave empty carry no information: drop them.
    // Categories are listed most frequent in the reference first (ties by name), so reports are stable.
    const order = labels
      .map((_, b) => b)
      .filter((b) => !pooled(b) || (refAll[b] ?? 0) + (curAll[b] ?? 0) > 0)
      .sort((a, b) =>
        spec.kind === 'numeric' || pooled(a) || pooled(b)
          ? a - b
          : (refAll[b] ?? 0) - (refAll[a] ?? 0) || (labels[a] ?? '').localeCompare(labels[b] ?? ''),
      );
    const kept = order.map((b) => labels[b] ?? '');
    const ref = order.map((b) => refAll[b] ?? 0);
    const cur = order.map((b) => curAll[b] ?? 0);
    const thresholds = thresholdsFor(options.thresholds, options.perColumn, feature.column);
    const psi = populationStabilityIndex(ref, cur);
    const js = jensenShannonDistance(ref, cur);
    let ks: FeatureDrift['ks'];
    if (feature.kind === 'numeric') {
      const row = await readOneRow(db, ksSql(views.reference, views.current, feature));
      const statistic = toNumber(row['d']) ?? 0;
      const pValue = ksPValue(statistic, toNumber(row['nr']) ?? 0, toNumber(row['nc']) ?? 0);
      ks = { statistic, pValue };
    }
    const { verdict, reasons } = judgeDrift(
      { column: feature.column, psi, js, ...(ks ? { ks } : {}) },
      thresholds,
    );
    const refShares = proportions(ref);
    const curShares = proportions(cur);
    results.push({
      column: feature.column,
      kind: feature.kind,
      verdict,
      reasons,
      psi,
      js,
      ...(ks ? { ks } : {}),
      thresholds,
      bins: kept.map((label, b) => ({ label, reference: refShares[b] ?? 0, current: curShares[b] ?? 0 })),
    });
  }
  const side = (input: DriftInput, rows: number): DriftSide => ({
    name: input.name,
    ...(input.sha256 ? { sha256: input.sha256 } : {}),
    rows,
  });
  return {
    format: 'sluice.drift/v1',
    reference: side(inputs.reference, counts.reference.rows),
    current: side(inputs.current, counts.current.rows),
    features: results,
    drifted: results.filter((f) => f.verdict === 'drift').length,
    ...partial,
    method: {
      psiEpsilon,
      numericBins: `${options.bins} bins at the reference's quantiles (right-closed), plus (missing)`,
      jsLogBase: 2,
      ks: 'two-sample statistic exact (computed in DuckDB); p-value asymptotic with Stephens’ correction',
    },
  };
}

/** Counts per bin for every feature on one side, in {@link binLabels} order. */
async function countBins(
  db: DuckDBConnection,
  view: string,
  features: readonly DriftFeature[],
  specs: readonly BinSpec[],
): Promise<{ rows: number; bins: number[][] }> {
  if (features.length === 0) {
    return { rows: toCount((await readOneRow(db, `SELECT count(*) AS n FROM ${view}`))['n']), bins: [] };
  }
  const row = await readOneRow(db, binCountsSql(view, features, specs));
  const rows = toCount(row['total_rows']);
  const bins = features.map((_, i) => {
    const spec = specs[i] as BinSpec;
    const entries = mapEntries(row[`f${i}_bins`]);
    if (spec.kind === 'categorical') {
      const counts = new Array<number>(spec.values.length + 2).fill(0);
      let matched = 0;
      for (const { key, value } of entries) {
        const position = toNumber(key);
        if (position === null) continue;
        counts[position - 1] = toCount(value);
        matched += toCount(value);
      }
      const present = toCount(row[`f${i}_present`]);
      counts[spec.values.length] = present - matched;
      counts[spec.values.length + 1] = rows - present;
      return counts;
    }
    const counts = new Array<number>(spec.edges.length + 2).fill(0);
    for (const { key, value } of entries) {
      const k = toNumber(key);
      counts[edgeIndex(spec.edges, k)] = (counts[edgeIndex(spec.edges, k)] ?? 0) + toCount(value);
    }
    counts[spec.edges.length + 1] = toCount(row[`f${i}_missing`]);
    return counts;
  });
  return { rows, bins };
}

/** The bin a histogram key stands for: an edge is its bin's upper end; the overflow key is past the last. */
function edgeIndex(edges: readonly number[], key: number | null): number {
  if (key === null || !Number.isFinite(key)) return edges.length;
  let best = 0;
  for (let i = 1; i < edges.length; i++) {
    if (Math.abs((edges[i] as number) - key) < Math.abs((edges[best] as number) - key)) best = i;
  }
  return best;
}

function binLabels(feature: DriftFeature, spec: BinSpec): string[] {
  if (spec.kind === 'categorical') return [...spec.values, '(other)', '(missing)'];
  const show = (edge: number): string =>
    feature.family === 'date' || feature.family === 'timestamp'
      ? new Date(edge).toISOString()
      : String(Number(edge.toPrecision(6)));
  const { edges } = spec;
  return [
    `<= ${show(edges[0] as number)}`,
    ...edges.slice(1).map((edge, i) => `(${show(edges[i] as number)}, ${show(edge)}]`),
    `> ${show(edges[edges.length - 1] as number)}`,
    '(missing)',
  ];
}
