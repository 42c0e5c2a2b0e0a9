import type { DuckDBConnection } from '@duckdb/node-api';
import { DataValidationError } from '../../pipelines/errors.js';
import type { DroppedRows } from '../../pipelines/model.js';
import type { SplitSpec } from '../../pipelines/train-spec.js';
import type { FittedTransform } from '../../pipelines/transform.js';
import type { SplitName } from './split.js';
import { labelSql } from './transform-sql.js';

/** What {@link countDropped} finds: the rows each split really trains or evaluates on, and the rest. */
export interface RowAccount {
  rows: Record<SplitName, number>;
  dropped: DroppedRows;
}

/**
 * Count, in one pass over `relation` (the source's rows with `__split`), the rows each split keeps and
 * the rows left out and why: no split (NULL split key or time), a NULL label, or a label the fitted
 * transform cannot use (not a number; a class the training split never had). The kept counts use the
 * fitted label, exactly as the loaders filter, so they are the rows the model saw.
 */
export async function countDropped(
  db: DuckDBConnection,
  relation: string,
  rawLabelSql: string,
  transform: FittedTransform,
): Promise<RowAccount> {
  const fitted = labelSql(transform.label);
  const reader = await db.runAndReadAll(
    `SELECT count(*)::DOUBLE AS source,
            count(*) FILTER (WHERE __split IS NULL)::DOUBLE AS no_split,
            count(*) FILTER (WHERE __split IS NOT NULL AND (${rawLabelSql}) IS NULL)::DOUBLE AS missing,
            count(*) FILTER (WHERE __split IS NOT NULL AND (${rawLabelSql}) IS NOT NULL AND ${fitted} IS NULL)::DOUBLE AS unusable,
            count(*) FILTER (WHERE __split = 'train' AND ${fitted} IS NOT NULL)::DOUBLE AS train,
            count(*) FILTER (WHERE __split = 'validation' AND ${fitted} IS NOT NULL)::DOUBLE AS validation,
            count(*) FILTER (WHERE __split = 'test' AND ${fitted} IS NOT NULL)::DOUBLE AS test
     FROM ${relation}`,
  );
  const c = (reader.getRowObjectsJS()[0] ?? {}) as Record<string, unknown>;
  const n = (key: string) => Number(c[key] ?? 0);
  return {
    rows: { train: n('train'), validation: n('validation'), test: n('test') },
    dropped: {
      source: n('source'),
      noSplit: n('no_split'),
      missingLabel: n('missing'),
      unusableLabel: n('unusable'),
    },
  };
}

/** Rows left out for any reason. */
export function droppedTotal(d: DroppedRows): number {
  return d.noSplit + d.missingLabel + d.unusableLabel;
}

/**
 * The plain-words account of rows left out, for the run status, the card and the audit report; undefined
 * when every row was used. `data` names the file, `label` the label's SQL, `split` what splits rows.
 */
export function describeDropped(
  d: DroppedRows,
  names: { data: string; label: string; split: string; task: string },
): string | undefined {
  const total = droppedTotal(d);
  if (total === 0) return undefined;
  const parts = [
    d.missingLabel > 0 ? `${count(d.missingLabel)} with no label (${names.label} is NULL)` : '',
    d.unusableLabel > 0
      ? `${count(d.unusableLabel)} whose label ${names.task === 'multiclass' ? 'is a class the training split does not have' : 'is not a number'}`
      : '',
    d.noSplit > 0 ? `${count(d.noSplit)} in no split (${names.split} is NULL)` : '',
  ].filter((p) => p !== '');
  return (
    `${count(total)} of ${count(d.source)} rows of ${names.data} (${share(total, d.source)}) were left out of ` +
    `training and evaluation: ${parts.join('; ')}`
  );
}

/**
 * Enforce `label.maxMissingFraction`: rows without a usable label (NULL or unusable) may be at most that
 * share of the source. Above it the step fails before anything is stored, naming the counts and the fix.
 */
export function checkMissingLabels(
  d: DroppedRows,
  limit: number | undefined,
  names: { data: string; label: string; where: string | undefined },
): void {
  if (limit === undefined || d.source === 0) return;
  const unlabelled = d.missingLabel + d.unusableLabel;
  if (unlabelled / d.source <= limit) return;
  throw new DataValidationError(
    `${count(unlabelled)} of ${count(d.source)} rows of ${names.data} (${share(unlabelled, d.source)}) have no usable ` +
      `label (${names.label}: ${count(d.missingLabel)} NULL, ${count(d.unusableLabel)} unusable), more than ` +
      `label.maxMissingFraction ${limit}${names.where ? ` of ${names.where}` : ''} allows: fix the labels in the data, ` +
      'or raise the limit if training on the labelled rows alone is intended',
    { details: { dropped: { ...d }, maxMissingFraction: limit } },
  );
}

/** What decides a row's split, for messages: the hash key or the time column. */
export function splitSubject(split: SplitSpec): string {
  return split.kind === 'time' ? split.column : `the split key (${split.key})`;
}

function count(n: number): string {
  return n.toLocaleString('en');
}

function share(part: number, whole: number): string {
  return `${((100 * part) / Math.max(whole, 1)).toFixed(1)}%`;
}
