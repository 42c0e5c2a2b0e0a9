import { columnRefs, FeatureExprError, parseFeatureExpr } from '../../pipelines/feature-expr.js';
import type { FittedTransform, SourceColumn } from '../../pipelines/transform.js';
import { castTo, compileExpr } from './derived-features.js';
import {
  columnSqlType,
  FeatureCompileError,
  SqlRuntimeError,
  type Evaluate,
  type SqlValue,
} from './sql-values.js';
import type { FeatureInputs } from './transform-online.js';

/** A feature whose value serving computes from source columns (its `sql` is not just its own column). */
export interface DerivedFeature {
  name: string;
  sql: string;
  /** The source columns it reads. */
  reads: string[];
}

/**
 * A model's whole feature computation, compiled: from the source columns a request sends to the
 * feature inputs the fitted transform standardises and encodes. Numeric features are
 * `TRY_CAST((sql) AS DOUBLE)` and categorical ones `CAST((sql) AS VARCHAR)`, exactly as
 * `activities/train/transform-sql.ts` computes them in batch.
 */
export interface FeatureProgram {
  /** Source columns a request must carry, in first-use order. */
  inputs: SourceColumn[];
  /** Features computed from other columns; a request never sends these. */
  derived: DerivedFeature[];
  /** Feature inputs by feature name, from source values by slot (`inputs` order). */
  compute(values: readonly SqlValue[]): FeatureInputs;
}

/** A feature serving cannot compute; names the feature, its SQL, the reason and the fix. */
export class FeatureProgramError extends Error {
  constructor(
    message: string,
    readonly feature: string,
  ) {
    super(message);
    this.name = 'FeatureProgramError';
  }
}

/**
 * The source columns the transform's features read, typed from `columns` (the training source's
 * schema; names match case-insensitively, as DuckDB binds them). Throws {@link FeatureProgramError}
 * for any feature serving cannot compute, which the training step reports before a model exists.
 */
export function featureInputColumns(transform: FittedTransform, columns: SourceColumn[]): SourceColumn[] {
  const inputs: SourceColumn[] = [];
  for (const f of [...transform.numeric, ...transform.categorical]) {
    for (const name of parse(f.name, f.sql).refs) {
      const column =
        columns.find((c) => c.name === name) ??
        columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
      if (!column)
        throw new FeatureProgramError(
          `feature "${f.name}" (${f.sql}) reads "${name}", which the source does not have`,
          f.name,
        );
      if (!inputs.some((c) => c.name === column.name)) inputs.push(column);
    }
  }
  const program = compileFeatureProgram({ ...transform, inputs });
  return program.inputs;
}

function parse(feature: string, sql: string) {
  try {
    const expr = parseFeatureExpr(sql);
    return { expr, refs: columnRefs(expr) };
  } catch (error) {
    if (error instanceof FeatureExprError) {
      throw new FeatureProgramError(
        `feature "${feature}": serving cannot compute ${JSON.stringify(sql)}: ${error.message}; write it with columns, arithmetic, comparisons, CASE, CAST and the functions docs/pipelines.md lists`,
        feature,
      );
    }
    throw error;
  }
}

/** Compile a transform that records its `inputs` (models trained since serving computes features). */
export function compileFeatureProgram(
  transform: FittedTransform & { inputs: SourceColumn[] },
): FeatureProgram {
  const inputs = transform.inputs;
  const lookup = (name: string) => {
    let slot = inputs.findIndex((c) => c.name === name);
    if (slot === -1) slot = inputs.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
    const column = inputs[slot];
    const type = column ? columnSqlType(column.type) : null;
    if (!column) return undefined;
    if (type === null) {
      throw new FeatureCompileError(
        `column "${column.name}" is ${column.type}, which serving cannot read from JSON`,
      );
    }
    return { slot, type };
  };
  const steps: { name: string; eval: Evaluate }[] = [];
  const derived: DerivedFeature[] = [];
  const features = [
    ...transform.numeric.map((f) => ({ ...f, target: 'DOUBLE' as const })),
    ...transform.categorical.map((f) => ({ ...f, target: 'VARCHAR' as const })),
  ];
  for (const f of features) {
    const { expr, refs } = parse(f.name, f.sql);
    try {
      const value = compileExpr(expr, lookup);
      if (f.target === 'DOUBLE' && (value.type === 'date' || value.type === 'timestamp')) {
        throw new FeatureCompileError(
          `it is a ${value.type.toUpperCase()}, not a number: use a date part such as month(x) or epoch arithmetic`,
        );
      }
      steps.push({ name: f.name, eval: castTo(value, f.target, f.target === 'DOUBLE').eval });
    } catch (error) {
      if (error instanceof FeatureCompileError) {
        throw new FeatureProgramError(
          `feature "${f.name}": serving cannot compute ${JSON.stringify(f.sql)}: ${error.message}`,
          f.name,
        );
      }
      throw error;
    }
    const plain =
      expr.kind === 'column' &&
      refs[0] !== undefined &&
      lookup(refs[0]) !== undefined &&
      inputs[lookup(refs[0])?.slot ?? -1]?.name === f.name;
    if (!plain) {
      derived.push({
        name: f.name,
        sql: f.sql,
        reads: refs.map((r) => inputs[lookup(r)?.slot ?? -1]?.name ?? r),
      });
    }
  }
  return {
    inputs,
    derived,
    compute: (values) => {
      const out: FeatureInputs = {};
      for (const step of steps) {
        try {
          out[step.name] = step.eval(values);
        } catch (error) {
          if (!(error instanceof SqlRuntimeError)) throw error;
          throw new FeatureProgramError(`feature "${step.name}": ${error.message}`, step.name);
        }
      }
      return out;
    },
  };
}

/** What a predict request for this model carries, for `GET /v1/models/<model>`, `sluice models <m>` and docs. */
export interface RequestContract {
  /** The source columns each instance sends, with their DuckDB types. */
  columns: SourceColumn[];
  /** Features the model computes from those columns (a request sending one is refused). */
  derived: DerivedFeature[];
}

/**
 * The request contract of a model: its source columns and derived features, or, for a model trained
 * before serving computed features, its features by name (sent as they are).
 */
export function requestContract(transform: FittedTransform): RequestContract {
  if (transform.inputs) {
    const program = compileFeatureProgram({ ...transform, inputs: transform.inputs });
    return { columns: program.inputs, derived: program.derived };
  }
  return {
    columns: [
      ...transform.numeric.map((f) => ({ name: f.name, type: 'DOUBLE' })),
      ...transform.categorical.map((f) => ({ name: f.name, type: 'VARCHAR' })),
    ],
    derived: [],
  };
}

/** One line for people: `a request sends date (TIMESTAMP), …; the model computes hour = hour(date), …`. */
export function describeRequestContract(contract: RequestContract): string {
  const columns = contract.columns.map((c) => `${c.name} (${c.type})`).join(', ');
  const derived = contract.derived.map((f) => `${f.name} = ${f.sql}`).join(', ');
  return `a request sends ${columns}${derived ? `; the model computes ${derived}` : ''}`;
}
