import type { JsonObject, JsonValue } from '../pipelines/json.js';

/**
 * Reading JSON of a shape the audit tools expect but cannot trust: histories are evidence from the
 * past (older Sluice versions, other writers), so every field is checked, never cast.
 */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value[key]` when `value` is an object. */
export function field(value: unknown, key: string): JsonValue | undefined {
  return isObject(value) ? value[key] : undefined;
}

export function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function flag(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

export function list(value: unknown): JsonValue[] {
  return Array.isArray(value) ? (value as JsonValue[]) : [];
}

export function object(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

export function strings(value: unknown): string[] {
  return list(value).filter((v): v is string => typeof v === 'string');
}

/** An artifact reference: `{ uri, sha256, kind, format, bytes }` as steps return them. */
export function isArtifactRef(value: unknown): value is JsonObject & { uri: string; sha256: string } {
  return (
    isObject(value) &&
    typeof value['uri'] === 'string' &&
    typeof value['sha256'] === 'string' &&
    /^[0-9a-f]{64}$/.test(value['sha256'])
  );
}
