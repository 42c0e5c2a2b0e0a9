import type { SplitSpec } from '../../pipelines/train-spec.js';
import { sqlString } from '../../lib/duckdb.js';
import { hash32Sql } from '../../lib/model/hash-bucket.js';
import { sqlIdent } from './source.js';

export type SplitName = 'train' | 'validation' | 'test';

/** Hash buckets per split decision: fractions are honoured to 0.01%. */
const BUCKETS = 10_000;

/**
 * A SQL expression giving each row's split (`'train'`, `'validation'`, `'test'`, or NULL to drop it).
 * Hash and k-fold splits hash `key || ':' || seed` with md5, so a row lands in the same split on every
 * rerun and every DuckDB version; a time split compares against fixed instants.
 */
export function splitSql(split: SplitSpec): string {
  switch (split.kind) {
    case 'hash': {
      const bucket = bucketSql(split.key, split.seed);
      const trainBelow = Math.round(BUCKETS * (1 - split.validation - split.test));
      const validationBelow = Math.round(BUCKETS * (1 - split.test));
      return `(CASE WHEN (${split.key}) IS NULL THEN NULL WHEN ${bucket} < ${trainBelow} THEN 'train' WHEN ${bucket} < ${validationBelow} THEN 'validation' ELSE 'test' END)`;
    }
    case 'time': {
      const column = sqlIdent(split.column);
      return `(CASE WHEN ${column} IS NULL THEN NULL WHEN ${column} >= CAST(${sqlString(split.testFrom)} AS TIMESTAMP) THEN 'test' WHEN ${column} >= CAST(${sqlString(split.validationFrom)} AS TIMESTAMP) THEN 'validation' ELSE 'train' END)`;
    }
    case 'kfold': {
      const bucket = bucketSql(split.key, split.seed);
      const testFrom = Math.round(BUCKETS * (1 - split.test));
      return `(CASE WHEN (${split.key}) IS NULL THEN NULL WHEN ${bucket} >= ${testFrom} THEN 'test' WHEN ${bucket} % ${split.k} = ${split.fold} THEN 'validation' ELSE 'train' END)`;
    }
  }
}

/** The same split with another validation fold: the k runs of a cross-validation. */
export function kfoldSplits(split: SplitSpec & { kind: 'kfold' }): (SplitSpec & { kind: 'kfold' })[] {
  return Array.from({ length: split.k }, (_, fold) => ({ ...split, fold }));
}

function bucketSql(key: string, seed: number): string {
  return `(${hash32Sql(`CAST((${key}) AS VARCHAR) || ':' || ${sqlString(String(seed))}`)} % ${BUCKETS})`;
}
