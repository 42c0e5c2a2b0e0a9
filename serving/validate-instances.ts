import type { ModelManifest, ModelMetadata } from '../pipelines/model.js';
import type { FeatureInputs } from '../lib/model/transform-online.js';
import type { FittedTransform } from '../pipelines/transform.js';
import { bad, compileRawInstanceReader, describe, type InstanceReader } from './raw-instances.js';

/** How many instances one predict request may carry: big batches belong in a batch job, not here. */
export const maxInstancesPerRequest = 1_000;

/**
 * Check a predict body and turn its instances into the model's feature inputs. A model that records
 * its source columns (every model trained since serving computes derived features) takes those
 * columns and computes each feature's SQL itself (`raw-instances.ts`); an older model takes its
 * features by name, as below.
 *
 * @throws ServingRequestError (400) naming the instance index and the column or feature.
 */
export function validateInstances(
  body: unknown,
  manifest: Pick<ModelManifest, 'metadata' | 'transform'>,
): FeatureInputs[] {
  return instanceReader(manifest)(instancesOf(body));
}

/** One compiled reader per model version's transform (the loaded manifest lives as long as the version). */
const readers = new WeakMap<FittedTransform, InstanceReader>();

/** The model version's compiled instance reader, built on its first request. */
export function instanceReader(manifest: Pick<ModelManifest, 'metadata' | 'transform'>): InstanceReader {
  const { transform } = manifest;
  let reader = readers.get(transform);
  if (!reader) {
    reader = transform.inputs
      ? compileRawInstanceReader({ ...transform, inputs: transform.inputs })
      : compileFeatureInstanceReader(manifest.metadata.features);
    readers.set(transform, reader);
  }
  return reader;
}

function instancesOf(body: unknown): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('the body must be a JSON object: {"instances": [{...}, ...]}');
  }
  const instances = (body as Record<string, unknown>)['instances'];
  if (!Array.isArray(instances) || instances.length === 0) {
    throw bad('"instances" must be a non-empty array of objects, one per row to score');
  }
  if (instances.length > maxInstancesPerRequest) {
    throw bad(
      `${instances.length} instances in one request; send at most ${maxInstancesPerRequest} per request`,
    );
  }
  return instances;
}

/**
 * Check a predict body's instances against the model's declared features before any scoring: every
 * feature present (explicit `null` means missing and is filled as in training), no feature the model
 * does not know, numbers for numeric features and text/number/boolean for categorical ones. The
 * online transform would silently treat a typo as a missing value; refusing it here is what lets a
 * caller find the typo.
 *
 * @throws ServingRequestError (400) naming the instance index and the feature.
 */
function compileFeatureInstanceReader(features: ModelMetadata['features']): InstanceReader {
  const numeric = new Set(features.numeric);
  const categorical = new Set(features.categorical);
  const expected = [...features.numeric, ...features.categorical];
  return (instances) =>
    instances.map((instance: unknown, index): FeatureInputs => {
      if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
        throw bad(`instances[${index}] must be an object of features (${expected.join(', ')})`);
      }
      const row = instance as Record<string, unknown>;
      for (const name of Object.keys(row)) {
        if (!numeric.has(name) && !categorical.has(name)) {
          throw bad(
            `instances[${index}] has feature "${name}", which the model does not use; send only ${expected.join(', ')}`,
          );
        }
      }
      for (const name of expected) {
        if (!(name in row)) {
          throw bad(
            `instances[${index}] is missing feature "${name}"; send it (null when the value is unknown)`,
          );
        }
        const value = row[name];
        if (value === null) continue;
        if (numeric.has(name) && (typeof value !== 'number' || !Number.isFinite(value))) {
          throw bad(`instances[${index}].${name} must be a finite number or null, not ${describe(value)}`);
        }
        if (
          categorical.has(name) &&
          typeof value !== 'string' &&
          typeof value !== 'number' &&
          typeof value !== 'boolean'
        ) {
          throw bad(
            `instances[${index}].${name} must be a string, number, boolean or null, not ${describe(value)}`,
          );
        }
      }
      return row;
    });
}
