import type { DuckDBConnection } from '@duckdb/node-api';
import { DataValidationError, InvalidInputError } from '../../pipelines/errors.js';
import { closestName } from '../../pipelines/lint.js';
import type { FeaturesSpec, LabelSpec, SplitSpec } from '../../pipelines/train-spec.js';
import type { DroppedRows } from '../../pipelines/model.js';
import type { FittedTransform } from '../../pipelines/transform.js';
import { checkMissingLabels, countDropped, describeDropped, splitSubject } from './dropped-rows.js';
import { sourceRelation, sqlIdent } from './source.js';
import { splitSql, type SplitName } from './split.js';
import { fitTransform } from './transform-fit.js';

/** Fewest rows per split that training and evaluation can mean anything on. */
export const MIN_SPLIT_ROWS: Record<SplitName, number> = { train: 20, validation: 5, test: 5 };

/** The table every later query reads: the source's columns plus `__split`. */
export const ROWS_VIEW = 'sluice_rows';

export interface PreparedDataset {
  transform: FittedTransform;
  /** Rows with a usable label, per split: the rows the loaders read. */
  rows: Record<SplitName, number>;
  /** Source rows, including unlabelled ones and rows the split dropped. */
  sourceRows: number;
  /** The rows left out, and why. */
  dropped: DroppedRows;
  /** The left-out rows in words, when there are any: for the run status, the card and the audit report. */
  warnings: string[];
  columns: { name: string; type: string }[];
}

/** Where a dataset and its spec came from, so a mistake is named where the engineer will fix it. */
export interface DatasetContext {
  /** `step "train" of pipelines/x.pipeline.ts`. */
  where?: string | undefined;
  /** The file the data was read from, when `path` is a snapshot in the artifact store. */
  origin?: string | undefined;
}

/** `data/flights.csv (snapshot /…/ab/abcd….parquet)`, or the path alone when that is the file. */
export function datasetName(path: string, origin: string | undefined): string {
  return origin === undefined || path.endsWith(origin) ? path : `${origin} (snapshot ${path})`;
}

/**
 * Open a dataset in DuckDB, check that every feature, the label and the split key exist, assign splits,
 * refuse splits too small to train or test on, and fit the transform on the training split. Leaves the
 * temporary table {@link ROWS_VIEW} on `db` for the loaders.
 *
 * @throws InvalidInputError for a missing column or bad SQL; DataValidationError for unusable data.
 */
export async function prepareDataset(
  db: DuckDBConnection,
  path: string,
  spec: { features: FeaturesSpec; label: LabelSpec; split: SplitSpec },
  context: DatasetContext = {},
): Promise<PreparedDataset> {
  const relation = sourceRelation(path);
  let columns: { name: string; type: string }[];
  try {
    const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
    const [names = [], types = []] = described.getColumnsJS();
    columns = names.map((name, i) => ({ name: name as string, type: types[i] as string }));
  } catch (error) {
    throw new InvalidInputError(`dataset ${path} cannot be read: ${firstLine(error)}`, { cause: error });
  }
  const known = new Set(columns.map((c) => c.name));
  const available = columns.map((c) => c.name).join(', ');
  const data = datasetName(path, context.origin);
  const notAColumn = (what: string, field: string, name: string, fix: string, details: object) => {
    const hint = closestName(name, [...known]);
    return new InvalidInputError(
      `${what} "${name}" (${field}${context.where ? ` of ${context.where}` : ''}) is not a column of ${data}: ` +
        `${hint ? `did you mean "${hint}"? ` : ''}the columns are ${available}; ${fix}`,
      { details: { ...details, field, columns: [...known], ...(hint ? { suggestion: hint } : {}) } },
    );
  };
  const expressions: { what: string; sql: string }[] = [];
  for (const kind of ['numeric', 'categorical'] as const) {
    spec.features[kind].forEach((f, i) => {
      if (f.sql === undefined && !known.has(f.name)) {
        throw notAColumn('feature', `features.${kind}[${i}]`, f.name, 'fix the name or give "sql"', {
          feature: f.name,
        });
      }
      expressions.push({ what: `feature "${f.name}"`, sql: f.sql ?? sqlIdent(f.name) });
    });
  }
  if (spec.label.column !== undefined && !known.has(spec.label.column)) {
    throw notAColumn('label column', 'label.column', spec.label.column, 'fix the name or give "sql"', {
      label: spec.label.column,
    });
  }
  if (spec.split.kind === 'time' && !known.has(spec.split.column)) {
    throw notAColumn('time split column', 'split.column', spec.split.column, 'fix the name', {
      split: spec.split.column,
    });
  }
  expressions.push({ what: 'the label', sql: spec.label.sql ?? sqlIdent(spec.label.column ?? '') });
  expressions.push({ what: 'the split', sql: splitSql(spec.split) });
  for (const { what, sql } of expressions) {
    try {
      await db.runAndReadAll(`DESCRIBE SELECT ${sql} FROM ${relation}`);
    } catch (error) {
      throw new InvalidInputError(`${what} (${sql}) is not valid SQL over ${path}: ${firstLine(error)}`, {
        cause: error,
        details: { sql },
      });
    }
  }
  // Materialised once: fitting and loading make a dozen passes, and each would otherwise re-read the
  // file and re-hash every row's split key.
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${ROWS_VIEW} AS SELECT *, ${splitSql(spec.split)} AS __split FROM ${relation}`,
  );

  const labelExpr = spec.label.sql ?? sqlIdent(spec.label.column ?? '');
  const counted = await db.runAndReadAll(
    `SELECT count(*)::DOUBLE AS total,
            count(*) FILTER (WHERE __split = 'train' AND (${labelExpr}) IS NOT NULL)::DOUBLE AS train,
            count(*) FILTER (WHERE __split = 'validation' AND (${labelExpr}) IS NOT NULL)::DOUBLE AS validation,
            count(*) FILTER (WHERE __split = 'test' AND (${labelExpr}) IS NOT NULL)::DOUBLE AS test
     FROM ${ROWS_VIEW}`,
  );
  const c = (counted.getRowObjectsJS()[0] ?? {}) as Record<string, unknown>;
  const rows = { train: Number(c['train']), validation: Number(c['validation']), test: Number(c['test']) };
  if (rows.train + rows.validation + rows.test === 0 && Number(c['total']) > 0) {
    throw new DataValidationError(
      `the label (${labelExpr}) is missing (NULL) on every training row of ${path}: check the label definition`,
      { details: { label: labelExpr } },
    );
  }
  for (const split of ['train', 'validation', 'test'] as const) {
    if (rows[split] < MIN_SPLIT_ROWS[split]) {
      throw new DataValidationError(
        `the ${split} split of ${path} has ${rows[split]} labelled rows, fewer than the ${MIN_SPLIT_ROWS[split]} needed: ` +
          'use more data or give that split a larger share',
        { details: { rows, minimum: MIN_SPLIT_ROWS } },
      );
    }
  }
  const transform = await fitTransform(db, ROWS_VIEW, spec.features, spec.label);
  const account = await countDropped(db, ROWS_VIEW, labelExpr, transform);
  checkMissingLabels(account.dropped, spec.label.maxMissingFraction, {
    data: context.origin ?? path,
    label: labelExpr,
    where: context.where,
  });
  const described = describeDropped(account.dropped, {
    data: context.origin ?? path, // not the snapshot's path: a home directory means nothing to a reader
    label: labelExpr,
    split: splitSubject(spec.split),
    task: spec.label.task,
  });
  return {
    transform,
    rows: account.rows,
    sourceRows: account.dropped.source,
    dropped: account.dropped,
    warnings: described === undefined ? [] : [described],
    columns,
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
}
