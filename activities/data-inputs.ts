import type { ArtifactKind, ArtifactRef } from '../pipelines/artifact.js';
import { InvalidInputError } from '../pipelines/errors.js';
import type { JsonValue } from '../pipelines/json.js';
import { artifactAddress, type ArtifactStorage } from '../lib/artifacts/index.js';
import { datasetFormat } from './dataset-reader.js';
import { sha256File } from '../lib/hash.js';
import { resolveSource } from '../lib/paths.js';
import { refuseDeepJson } from './ingest/json-depth.js';

/** A dataset ready for DuckDB: a verified local file, its content hash and a name for reports. */
export interface ResolvedDataset {
  path: string;
  name: string;
  sha256: string;
}

const shaPattern = /^[0-9a-f]{64}$/;

/** Whether a JSON value has the shape of an {@link ArtifactRef} (refs arrive as workflow payloads). */
export function isArtifactRef(value: unknown): value is ArtifactRef {
  if (typeof value !== 'object' || value === null) return false;
  const ref = value as Record<string, unknown>;
  return (
    typeof ref['sha256'] === 'string' && typeof ref['kind'] === 'string' && typeof ref['format'] === 'string'
  );
}

/**
 * Resolve what a user or a step names as a dataset: an `ArtifactRef` (opened from the store, hash
 * verified), the sha256 of a stored artifact, or a path inside the allowed data roots (hashed here, so
 * statistics and reports say exactly which bytes they describe).
 *
 * @throws InvalidInputError naming `what` (e.g. `step "stats" params.dataset`) and the fix.
 */
export async function resolveDataset(
  value: unknown,
  context: { store: ArtifactStorage; dataRoots: readonly string[]; what: string },
): Promise<ResolvedDataset> {
  if (isArtifactRef(value)) return openRef(context.store, value, 'dataset');
  if (typeof value === 'string' && shaPattern.test(value)) {
    return openRef(context.store, await refFromSha(context.store, value), 'dataset');
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const path = await resolveSource(value, context.dataRoots);
    datasetFormat(path);
    await refuseDeepJson(value, path);
    const { sha256 } = await sha256File(path);
    return { path, name: value, sha256 };
  }
  throw new InvalidInputError(
    `${context.what} must name a dataset: an ArtifactRef, the sha256 of a stored artifact, or a path; got ${JSON.stringify(value) ?? 'nothing'}`,
  );
}

/** The ref of a stored artifact from its sha256, read from its sidecar. */
export async function refFromSha(store: ArtifactStorage, sha256: string): Promise<ArtifactRef> {
  const sidecar = await store.describe(sha256);
  return {
    uri: artifactAddress(sidecar.sha256),
    sha256: sidecar.sha256,
    kind: sidecar.kind,
    format: sidecar.format,
    bytes: sidecar.bytes,
    ...(sidecar.rows !== undefined ? { rows: sidecar.rows } : {}),
    ...(sidecar.schema !== undefined ? { schema: sidecar.schema } : {}),
  };
}

async function openRef(
  store: ArtifactStorage,
  ref: ArtifactRef,
  expected: ArtifactKind,
): Promise<ResolvedDataset> {
  if (ref.kind !== expected && ref.kind !== 'prediction-log') {
    throw new InvalidInputError(
      `artifact ${ref.sha256} is a ${ref.kind}, not a ${expected}: pass the dataset's ref (e.g. the ingest step's output)`,
      { details: { sha256: ref.sha256, kind: ref.kind } },
    );
  }
  return { path: await store.open(ref), name: `${ref.kind} ${ref.sha256.slice(0, 12)}`, sha256: ref.sha256 };
}

/**
 * A field of a dependency's output: from the step `from` names, else the first dependency (in the
 * order the step lists them) whose output has the field. How `validate` finds the statistics and the
 * dataset that `stats` produced without the pipeline spelling out refs.
 */
export function fromInputs(
  inputs: Record<string, JsonValue>,
  field: string,
  from: unknown,
  what: string,
): JsonValue | undefined {
  if (typeof from === 'string') {
    const output = inputs[from];
    if (output === undefined) {
      throw new InvalidInputError(
        `${what}: step "${from}" is not among this step's needs (${Object.keys(inputs).join(', ') || 'none'}); add it to needs`,
      );
    }
    const value = fieldOf(output, field);
    if (value === undefined)
      throw new InvalidInputError(`${what}: the output of step "${from}" has no "${field}"`);
    return value;
  }
  for (const output of Object.values(inputs)) {
    const value = fieldOf(output, field);
    if (value !== undefined) return value;
  }
  return undefined;
}

function fieldOf(output: JsonValue, field: string): JsonValue | undefined {
  if (typeof output !== 'object' || output === null || Array.isArray(output)) return undefined;
  return output[field];
}
