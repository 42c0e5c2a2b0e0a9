import type { JsonObject, JsonValue } from './json.js';

/**
 * A step parameter may be `{ "$param": "name" }`: the run parameter's value, resolved in workflow code
 * when the step starts, so the resolved value is in history.
 */
export function isParamRef(value: JsonValue): value is { $param: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof value['$param'] === 'string'
  );
}

/** Every `$param` name used anywhere in a step's params. */
export function paramRefs(value: JsonValue): string[] {
  if (isParamRef(value)) return [value.$param];
  if (Array.isArray(value)) return value.flatMap(paramRefs);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(paramRefs);
  return [];
}

/** Replace `$param` references with run parameter values. */
export function resolveParamRefs(
  params: JsonObject,
  runParams: Record<string, string | number | boolean>,
): JsonObject {
  const resolve = (value: JsonValue): JsonValue => {
    if (isParamRef(value)) return runParams[value.$param] ?? null;
    if (Array.isArray(value)) return value.map(resolve);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, resolve(child)]));
    }
    return value;
  };
  return resolve(params) as JsonObject;
}

/** A run parameter reference, `{ $param: 'name' }`: the value of `--param name=…` for this run. */
export type ParamRef = { $param: string };

/**
 * The type a pipeline file may write for a step param whose schema input is `T`: the same shape, with
 * `{ $param: 'name' }` allowed wherever a string, number or boolean goes. That is exactly where the DSL
 * allows it: the workflow resolves references anywhere in a step's params, and a run parameter is a
 * string, number or boolean, so it can stand for those and for nothing bigger.
 */
export type WithParamRefs<T> = T extends string | number | boolean
  ? T | ParamRef
  : T extends readonly (infer E)[]
    ? readonly WithParamRefs<E>[]
    : T extends object
      ? { [K in keyof T]: WithParamRefs<T[K]> }
      : T;
