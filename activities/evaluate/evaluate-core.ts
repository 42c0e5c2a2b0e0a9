import type * as tfType from '@tensorflow/tfjs';
import type { ArtifactStorage } from '../../lib/artifacts/index.js';
import { DataValidationError, InvalidInputError } from '../../pipelines/errors.js';
import {
  fairnessMetricNames,
  taskMetrics,
  type Estimate,
  type FairnessReport,
  type GroupRow,
  type MetricName,
} from '../../pipelines/evaluation.js';
import { closestName } from '../../pipelines/lint.js';
import type { ModelManifest, ModelRef } from '../../pipelines/model.js';
import type { SplitSpec } from '../../pipelines/train-spec.js';
import type { FittedTransform } from '../../pipelines/transform.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import { withDuckDB } from '../../lib/duckdb.js';
import { featureInputsSql, labelSql } from '../train/transform-sql.js';
import { selectTfBackend } from '../tf-backend.js';
import { loadMatrix, type Matrix } from '../train/load-matrix.js';
import {
  loadNetwork,
  loadScoringModel,
  networkScorer,
  type ScoringModel,
} from '../../lib/model/model-artifact.js';
import { datasetName } from '../train/prepare.js';
import { sourceRelation, sqlIdent } from '../train/source.js';
import { splitSql } from '../train/split.js';
import { bootstrap } from './bootstrap.js';
import { fairnessGroups, fairnessSummary } from './fairness.js';
import { featureImportance, type ImportanceSection } from './importance.js';
import { createScorer, subset, type MetricValues, type ScoreDetails } from './scorer.js';
import { calibrationReport, type CalibrationReport } from './calibration-report.js';

/** A slice: a column's values (`sql` defaults to the column `name`), or the rows where `where` holds. */
export type SliceSpec = { name: string; sql?: string | undefined; where?: string | undefined };

export interface EvaluateRequest {
  model: ModelRef;
  production: ModelRef | null;
  dataset: { path: string; uri: string; sha256: string };
  /** Evaluate one split of the model's own split spec, or (null) every labelled row of the dataset. */
  split: { spec: SplitSpec; use: 'train' | 'validation' | 'test' } | null;
  threshold: number;
  slices: SliceSpec[];
  /** Group columns for fairness (binary models). */
  fairness: SliceSpec[];
  maxGroups: number;
  bootstrap: { replicates: number; seed: number };
  /** Which pipeline step (and file) asked, for messages: `step "evaluate" of pipelines/x.pipeline.ts`. */
  where?: string | undefined;
  /** The file the data was read from, when `dataset.path` is a snapshot in the artifact store. */
  origin?: string | undefined;
}

/** The stored evaluation: everything the model card shows. */
export interface EvaluationReport {
  format: 'sluice-evaluation/1';
  model: ModelRef;
  task: ModelManifest['metadata']['task'];
  classes: string[];
  dataset: { uri: string; sha256: string; split: string };
  rows: number;
  threshold: number;
  bootstrap: { replicates: number; seed: number };
  metrics: Partial<Record<MetricName, Estimate>>;
  details: ScoreDetails;
  production: {
    model: ModelRef;
    metrics: Partial<Record<MetricName, Estimate>>;
    delta: Partial<Record<MetricName, Estimate>>;
    details: ScoreDetails;
  } | null;
  slices: GroupRow[];
  /** Per slice, the smaller groups beyond `maxGroups` that were not scored: how many, and their cases. */
  slicesOmitted?: { slice: string; groups: number; rows: number }[];
  fairness: FairnessReport[];
  /** Mean |exact contribution| per feature, overall and per slice (absent in older evaluations). */
  importance?: ImportanceSection;
  /** ECE and reliability before and after the model's calibration; absent when it has none (or older reports). */
  calibration?: CalibrationReport | null;
}

const VIEW = 'sluice_eval_rows';

/**
 * Evaluate a stored model on a dataset's evaluation rows, with seeded bootstrap intervals, sliced
 * metrics, fairness per group, and — when a production model is given — the same metrics for it on the
 * same rows with paired intervals for the difference. Reads rows through each model's own transform.
 *
 * @throws DataValidationError for an empty evaluation set or slice; InvalidInputError for bad slice SQL
 * or a production model that predicts a different label.
 */
export async function evaluateOnDataset(
  store: ArtifactStorage,
  request: EvaluateRequest,
): Promise<EvaluationReport> {
  const load = (ref: ModelRef) => loadScoringModel(store, ref, (manifest) => denseModel(store, manifest));
  const candidate = await load(request.model);
  const production = request.production ? await load(request.production) : null;
  const { task } = candidate.manifest.metadata;
  const classes = candidate.manifest.transform.label.classes;
  if (production) {
    const a = candidate.manifest.transform.label;
    const b = production.manifest.transform.label;
    if (a.sql !== b.sql || a.task !== b.task || a.classes.join('\u0000') !== b.classes.join('\u0000')) {
      throw new InvalidInputError(
        `the production model predicts ${b.task} "${b.sql}" but the candidate predicts ${a.task} "${a.sql}": they cannot be compared on one evaluation set`,
      );
    }
  }
  if (request.fairness.length > 0 && task !== 'binary') {
    throw new InvalidInputError(
      `fairness metrics (selection rate, TPR, FPR) need a binary model, and this one is ${task}: use slices for per-group metrics`,
    );
  }
  const where = request.split ? `__split = '${request.split.use}'` : undefined;
  const splitName = request.split?.use ?? 'all rows';
  const extra: Record<string, string> = {};

  const { matrix, productionMatrix } = await withDuckDB(async (db) => {
    const relation = sourceRelation(request.dataset.path);
    const split = request.split ? splitSql(request.split.spec) : `'all'`;
    await db.run(`CREATE OR REPLACE TEMP TABLE ${VIEW} AS SELECT *, ${split} AS __split FROM ${relation}`);
    const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${VIEW}`);
    const columns = (described.getColumnsJS()[0] ?? []).map(String).filter((name) => name !== '__split');
    const groups = [
      ...request.slices.map((s, i) => ({ s, key: `__slice${i}`, field: `slices[${i}]` })),
      ...request.fairness.map((s, i) => ({ s, key: `__group${i}`, field: `fairness[${i}]` })),
    ];
    for (const { s, key, field } of groups) {
      const sql = groupSql(s, field, columns, candidate.manifest.transform, request);
      try {
        await db.runAndReadAll(`DESCRIBE SELECT ${sql} FROM ${VIEW}`);
      } catch (error) {
        throw new InvalidInputError(
          `slice "${s.name}" (${field}${request.where ? ` of ${request.where}` : ''}: ${sql}) is not valid SQL over ${datasetName(request.dataset.uri, request.origin)}: ${(error as Error).message.split('\n')[0]}`,
          { cause: error },
        );
      }
      extra[key] = sql;
    }
    await checkReadable(db, candidate.manifest, 'the model', request.dataset.uri);
    if (production) await checkReadable(db, production.manifest, 'the production model', request.dataset.uri);
    const options = { ...(where === undefined ? {} : { where }), extra };
    const matrix = await loadMatrix(db, candidate.manifest.transform, VIEW, options);
    const productionMatrix = production
      ? await loadMatrix(db, production.manifest.transform, VIEW, where === undefined ? {} : { where })
      : null;
    return { matrix, productionMatrix };
  });
  if (matrix.rows === 0) {
    throw new DataValidationError(
      `the evaluation set (${splitName} of ${request.dataset.uri}) has no labelled rows: evaluate on more data`,
      { details: { split: splitName } },
    );
  }
  const predictions = predict(candidate, matrix);
  const calibration = calibrationReport(
    candidate.manifest,
    matrix.y,
    () => candidate.uncalibrated(matrix.x, matrix.rows),
    predictions,
  );
  candidate.dispose();
  const scorer = createScorer(task, matrix.y, predictions, classes, request.threshold);
  let productionScorer: ReturnType<typeof createScorer> | null = null;
  if (production && productionMatrix) {
    if (productionMatrix.rows !== matrix.rows || productionMatrix.y.some((v, i) => v !== matrix.y[i])) {
      throw new DataValidationError(
        'the production model’s transform selected different evaluation rows than the candidate’s: they cannot be compared row for row',
      );
    }
    productionScorer = createScorer(
      task,
      matrix.y,
      predict(production, productionMatrix),
      classes,
      request.threshold,
    );
    production.dispose();
  }
  const names = taskMetrics[task];
  const groups = request.fairness.map((s, i) => ({ spec: s, values: matrix.extra[`__group${i}`] ?? [] }));

  const point = scorer.metrics();
  const productionPoint = productionScorer?.metrics() ?? null;
  const fairnessPoint = groups.map((g) => fairnessGroups(matrix.y, predictions, g.values, request.threshold));
  const intervals = bootstrap(matrix.rows, request.bootstrap.replicates, request.bootstrap.seed, (w) => {
    const out: Record<string, number | null> = {};
    const m = scorer.metrics(w);
    for (const name of names) out[`m.${name}`] = m[name] ?? null;
    if (productionScorer) {
      const p = productionScorer.metrics(w);
      for (const name of names) {
        out[`p.${name}`] = p[name] ?? null;
        const a = m[name];
        const b = p[name];
        out[`d.${name}`] = a === null || a === undefined || b === null || b === undefined ? null : a - b;
      }
    }
    groups.forEach((g, i) => {
      const summary = fairnessSummary(fairnessGroups(matrix.y, predictions, g.values, request.threshold, w));
      for (const name of fairnessMetricNames) out[`f${i}.${name}`] = summary[name];
    });
    return out;
  });
  const estimate = (
    prefix: string,
    values: MetricValues | Record<string, number | null>,
    name: string,
  ): Estimate => ({
    value: (values as Record<string, number | null | undefined>)[name] ?? null,
    lo: intervals[`${prefix}.${name}`]?.lo ?? null,
    hi: intervals[`${prefix}.${name}`]?.hi ?? null,
  });
  const metrics = Object.fromEntries(names.map((n) => [n, estimate('m', point, n)]));
  const delta: Record<string, number | null> = {};
  if (productionPoint) {
    for (const n of names) {
      const a = point[n];
      const b = productionPoint[n];
      delta[n] = a === null || a === undefined || b === null || b === undefined ? null : a - b;
    }
  }
  const sliced = sliceReport(request, matrix, predictions, task, classes);
  const importance = await featureImportance(
    store,
    candidate.manifest,
    matrix,
    request.slices,
    sliced.slices,
  );
  return {
    format: 'sluice-evaluation/1',
    model: request.model,
    task,
    classes,
    dataset: { uri: request.dataset.uri, sha256: request.dataset.sha256, split: splitName },
    rows: matrix.rows,
    threshold: request.threshold,
    bootstrap: request.bootstrap,
    metrics,
    details: scorer.details(),
    production:
      request.production && productionScorer && productionPoint
        ? {
            model: request.production,
            metrics: Object.fromEntries(names.map((n) => [n, estimate('p', productionPoint, n)])),
            delta: Object.fromEntries(names.map((n) => [n, estimate('d', delta, n)])),
            details: productionScorer.details(),
          }
        : null,
    ...sliced,
    fairness: groups.map((g, i) => {
      const summary = fairnessSummary(fairnessPoint[i] ?? []);
      return {
        column: g.spec.name,
        groups: fairnessPoint[i] ?? [],
        summary: Object.fromEntries(
          fairnessMetricNames.map((n) => [n, estimate(`f${i}`, summary, n)]),
        ) as FairnessReport['summary'],
      };
    }),
    importance,
    calibration,
  };
}

function predict(model: ScoringModel, matrix: Matrix): Float32Array {
  return model.predict(matrix.x, matrix.rows);
}

/** A dense model: its network loaded by TF.js (the backend is chosen only when such a model is evaluated), scored by the Dense forward or TF.js. */
async function denseModel(
  store: ArtifactStorage,
  manifest: ModelManifest,
): Promise<Pick<ScoringModel, 'predict' | 'dispose'>> {
  await selectTfBackend();
  const tf: typeof tfType = await import('@tensorflow/tfjs');
  const network = await loadNetwork(tf, store, manifest);
  const width = manifest.metadata.inputs.length;
  return {
    // Decided once: the Dense forward reads the weights here, not for every matrix evaluation scores.
    predict: networkScorer(tf, network, width).predict,
    dispose: () => network.dispose(),
  };
}

/**
 * Refuse, naming the model and the reason, evaluation data the model's transform cannot read (a feature
 * or label column it needs is missing): otherwise DuckDB's binder error would look retryable.
 */
async function checkReadable(
  db: DuckDBConnection,
  manifest: ModelManifest,
  who: string,
  uri: string,
): Promise<void> {
  const inputs = [
    ...featureInputsSql(manifest.transform),
    `${labelSql(manifest.transform.label)} AS __label`,
  ];
  try {
    await db.runAndReadAll(`DESCRIBE SELECT ${inputs.join(', ')} FROM ${VIEW}`);
  } catch (error) {
    throw new InvalidInputError(
      `${who} cannot read ${uri}: ${(error as Error).message.split('\n')[0]}; evaluate on data with the columns it was trained on (${[...manifest.metadata.features.numeric, ...manifest.metadata.features.categorical].join(', ')})`,
      { cause: error },
    );
  }
}

/**
 * A slice's grouping value as text: the column's value, or 'true' where the condition holds. A bare
 * name that is not a column but a feature the model derived (`{ name: 'hour', sql: 'hour(date)' }`)
 * groups by that feature's SQL; any other unknown name is refused naming the field and the nearest name.
 */
function groupSql(
  s: SliceSpec,
  field: string,
  columns: readonly string[],
  transform: FittedTransform,
  request: Pick<EvaluateRequest, 'where' | 'origin' | 'dataset'>,
): string {
  if (s.where !== undefined) return `CASE WHEN (${s.where}) THEN 'true' ELSE NULL END`;
  if (s.sql !== undefined) return `CAST((${s.sql}) AS VARCHAR)`;
  if (columns.includes(s.name)) return `CAST((${sqlIdent(s.name)}) AS VARCHAR)`;
  const derived = [...transform.numeric, ...transform.categorical].filter((f) => f.sql !== sqlIdent(f.name));
  const feature = derived.find((f) => f.name === s.name);
  if (feature) return `CAST((${feature.sql}) AS VARCHAR)`;
  const names = [...columns, ...derived.map((f) => f.name)];
  const hint = closestName(s.name, names);
  throw new InvalidInputError(
    `slice "${s.name}" (${field}${request.where ? ` of ${request.where}` : ''}) is neither a column of ` +
      `${datasetName(request.dataset.uri, request.origin)} nor a feature the model derived: ` +
      `${hint ? `did you mean "${hint}"? ` : ''}the columns are ${columns.join(', ')}` +
      `${derived.length > 0 ? `, the derived features ${derived.map((f) => f.name).join(', ')}` : ''}; ` +
      'fix the name or give { name, sql }',
    { details: { slice: s.name, field, ...(hint ? { suggestion: hint } : {}) } },
  );
}

function sliceReport(
  request: EvaluateRequest,
  matrix: Matrix,
  predictions: Float32Array,
  task: EvaluationReport['task'],
  classes: string[],
): Pick<EvaluationReport, 'slices' | 'slicesOmitted'> {
  const width = task === 'multiclass' ? classes.length : 1;
  const rows: GroupRow[] = [];
  const omitted: NonNullable<EvaluationReport['slicesOmitted']> = [];
  request.slices.forEach((s, i) => {
    const values = matrix.extra[`__slice${i}`] ?? [];
    const members = new Map<string, number[]>();
    values.forEach((value, row) => {
      if (value === null) return;
      let list = members.get(value);
      if (!list) members.set(value, (list = []));
      list.push(row);
    });
    if (members.size === 0) {
      throw new DataValidationError(
        `evaluation slice "${s.name}" has no rows in the evaluation set (${request.split?.use ?? 'all rows'}): fix its ${s.where === undefined ? 'column' : 'condition'} or drop it`,
        { details: { slice: s.name } },
      );
    }
    const ranked = [...members.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
    const largest = ranked.slice(0, request.maxGroups);
    const rest = ranked.slice(request.maxGroups);
    if (rest.length > 0) {
      omitted.push({ slice: s.name, groups: rest.length, rows: rest.reduce((n, [, m]) => n + m.length, 0) });
    }
    for (const [value, members_] of largest) {
      const scorer = createScorer(
        task,
        subset(matrix.y, members_),
        subset(predictions, members_, width),
        classes,
        request.threshold,
      );
      rows.push({ slice: s.name, value, rows: members_.length, metrics: scorer.metrics() });
    }
  });
  return omitted.length === 0 ? { slices: rows } : { slices: rows, slicesOmitted: omitted };
}
