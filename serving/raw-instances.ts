import type { FittedTransform, SourceColumn } from '../pipelines/transform.js';
import { ServingRequestError } from '../lib/http-error.js';
import {
  compileFeatureProgram,
  FeatureProgramError,
  type FeatureProgram,
} from '../lib/model/feature-program.js';
import { describeJsonInput, fromJson, type SqlValue } from '../lib/model/sql-values.js';
import type { FeatureInputs } from '../lib/model/transform-online.js';

const programs = new WeakMap<FittedTransform, FeatureProgram>();

/** The compiled feature computation of a model that records its source columns (compiled once per loaded model). */
export function featureProgram(transform: FittedTransform & { inputs: SourceColumn[] }): FeatureProgram {
  let program = programs.get(transform);
  if (!program) {
    program = compileFeatureProgram(transform);
    programs.set(transform, program);
  }
  return program;
}

/**
 * Read a request's instances as the training source's columns and compute every feature from them,
 * as training did (docs/architecture.md decision 9). An instance carries exactly the model's source
 * columns (`GET /v1/models/<model>` lists them): a missing one is a 400 naming it and the features
 * that need it; a derived feature sent by the caller (`temp_range`) is refused, since the model
 * computes it; a value of the wrong type is refused naming what to send.
 *
 * @throws ServingRequestError (400) naming the instance index, the column and the fix.
 */
export function readRawInstances(
  instances: unknown[],
  transform: FittedTransform & { inputs: SourceColumn[] },
): FeatureInputs[] {
  const program = featureProgram(transform);
  const { inputs, derived } = program;
  const columns = new Map(inputs.map((c, slot) => [c.name, { ...c, slot }]));
  const names = inputs.map((c) => c.name).join(', ');
  const values: SqlValue[] = new Array<SqlValue>(inputs.length);
  return instances.map((instance: unknown, index) => {
    if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
      throw bad(`instances[${index}] must be an object of features (source columns ${names})`);
    }
    const row = instance as Record<string, unknown>;
    for (const key of Object.keys(row)) {
      if (columns.has(key)) continue;
      const feature = derived.find((f) => f.name === key);
      if (feature) {
        throw bad(
          `instances[${index}] sends "${key}", which the model computes itself as ${feature.sql} from ${feature.reads.join(', ')}: send ${feature.reads.join(' and ')} and leave "${key}" out`,
        );
      }
      throw bad(`instances[${index}] has feature "${key}", which the model does not use; send only ${names}`);
    }
    for (const column of inputs) {
      const slot = columns.get(column.name)?.slot ?? 0;
      if (!(column.name in row)) {
        const needs = derived.filter((f) => f.reads.includes(column.name));
        const why =
          needs.length > 0
            ? `, which ${needs.map((f) => `feature "${f.name}" (${f.sql})`).join(' and ')} needs`
            : '';
        throw bad(
          `instances[${index}] is missing column "${column.name}"${why}; send it (null when the value is unknown)`,
        );
      }
      const value = fromJson(row[column.name], column.type);
      if (value === undefined) {
        throw bad(
          `instances[${index}].${column.name} must be ${describeJsonInput(column.type)} or null, not ${describe(row[column.name])} (the source column is ${column.type})`,
        );
      }
      values[slot] = value;
    }
    try {
      return program.compute(values);
    } catch (error) {
      if (error instanceof FeatureProgramError) throw bad(`instances[${index}]: ${error.message}`);
      throw error;
    }
  });
}

/** A request value in words, for 400 messages. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** A 400 INVALID_INSTANCES refusal. */
export function bad(message: string): ServingRequestError {
  return new ServingRequestError(400, 'INVALID_INSTANCES', message);
}
