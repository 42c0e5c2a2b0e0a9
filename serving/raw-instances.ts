import type { FittedTransform, SourceColumn } from '../pipelines/transform.js';
import { ServingRequestError } from '../lib/http-error.js';
import {
  compileFeatureProgram,
  FeatureProgramError,
  type DerivedFeature,
  type FeatureProgram,
} from '../lib/model/feature-program.js';
import { describeJsonInput, jsonReader, type SqlValue } from '../lib/model/sql-values.js';
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

/** Reads a request's instances into feature inputs; compiled once per model version. */
export type InstanceReader = (instances: unknown[]) => FeatureInputs[];

/**
 * The reader of a model that records its source columns: everything that depends only on the model
 * (the feature program, each column's JSON reader, the derived features by name, the column list that
 * error messages show) is worked out here once, so a request only walks its own values.
 *
 * An instance carries exactly the model's source columns (`GET /v1/models/<model>` lists them): a
 * missing one is a 400 naming it and the features that need it; a derived feature sent by the caller
 * (`temp_range`) is refused, since the model computes it; a value of the wrong type is refused naming
 * what to send (docs/architecture.md decision 9).
 *
 * @throws ServingRequestError (400) naming the instance index, the column and the fix.
 */
export function compileRawInstanceReader(
  transform: FittedTransform & { inputs: SourceColumn[] },
): InstanceReader {
  const program = featureProgram(transform);
  const { inputs, derived } = program;
  const columns = inputs.map((c) => ({ name: c.name, type: c.type, read: jsonReader(c.type) }));
  const known = new Set(inputs.map((c) => c.name));
  const derivedByName = new Map<string, DerivedFeature>(derived.map((f) => [f.name, f]));
  const names = inputs.map((c) => c.name).join(', ');
  const width = columns.length;

  const unknownKey = (key: string, index: number): ServingRequestError => {
    const feature = derivedByName.get(key);
    return feature
      ? bad(
          `instances[${index}] sends "${key}", which the model computes itself as ${feature.sql} from ${feature.reads.join(', ')}: send ${feature.reads.join(' and ')} and leave "${key}" out`,
        )
      : bad(`instances[${index}] has feature "${key}", which the model does not use; send only ${names}`);
  };
  const missing = (name: string, index: number): ServingRequestError => {
    const needs = derived.filter((f) => f.reads.includes(name));
    const why =
      needs.length > 0
        ? `, which ${needs.map((f) => `feature "${f.name}" (${f.sql})`).join(' and ')} needs`
        : '';
    return bad(
      `instances[${index}] is missing column "${name}"${why}; send it (null when the value is unknown)`,
    );
  };

  return (instances) => {
    const out = new Array<FeatureInputs>(instances.length);
    const values = new Array<SqlValue>(width);
    for (let index = 0; index < instances.length; index++) {
      const instance = instances[index];
      if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
        throw bad(`instances[${index}] must be an object of features (source columns ${names})`);
      }
      const row = instance as Record<string, unknown>;
      for (const key in row) if (!known.has(key) && Object.hasOwn(row, key)) throw unknownKey(key, index);
      for (let slot = 0; slot < width; slot++) {
        const column = columns[slot] as (typeof columns)[number];
        const raw = row[column.name];
        if (raw === undefined && !Object.hasOwn(row, column.name)) throw missing(column.name, index);
        const value = column.read(raw);
        if (value === undefined) {
          throw bad(
            `instances[${index}].${column.name} must be ${describeJsonInput(column.type)} or null, not ${describe(raw)} (the source column is ${column.type})`,
          );
        }
        values[slot] = value;
      }
      try {
        out[index] = program.compute(values);
      } catch (error) {
        if (error instanceof FeatureProgramError) throw bad(`instances[${index}]: ${error.message}`);
        throw error;
      }
    }
    return out;
  };
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
