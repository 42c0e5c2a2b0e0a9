import { InvalidInputError } from './errors.js';
import type { PipelineSpec } from './spec.js';

export type ParamValue = string | number | boolean;

/** Longest run parameter value: a value or a path, not data (it is stored in every run's history). */
export const maxParamLength = 65_536;
/** A plain decimal number, as a person types one: no hex, binary, octal or digit separators. */
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Turn `--param k=v` strings into the typed values the pipeline declares, filling defaults. Unknown
 * names, wrong types and missing required params are refused with the fix.
 */
export function resolveRunParams(
  spec: PipelineSpec,
  raw: Record<string, string>,
): Record<string, ParamValue> {
  const resolved: Record<string, ParamValue> = {};
  for (const name of Object.keys(raw)) {
    // Own keys only: `constructor` or `toString` are not parameters just because every object has them.
    if (!Object.hasOwn(spec.params, name)) {
      const known = Object.keys(spec.params);
      throw new InvalidInputError(
        `pipeline "${spec.id}" has no parameter "${name.length > 80 ? `${name.slice(0, 80)}…` : name}": ${known.length ? `known parameters are ${known.join(', ')}` : 'it declares no parameters'}`,
      );
    }
  }
  for (const [name, param] of Object.entries(spec.params)) {
    const text = Object.hasOwn(raw, name) ? raw[name] : undefined;
    if (text === undefined) {
      if (param.default === undefined) {
        throw new InvalidInputError(
          `pipeline "${spec.id}" needs parameter "${name}" (${param.type}): pass --param ${name}=<value>`,
        );
      }
      resolved[name] = param.default;
      continue;
    }
    resolved[name] = coerce(spec.id, name, param.type, text);
  }
  return resolved;
}

function coerce(pipeline: string, name: string, type: string, text: string): ParamValue {
  const shown = text.length > 80 ? `${text.slice(0, 80)}… (${text.length} characters)` : text;
  const wrong = (what: string) =>
    new InvalidInputError(`parameter "${name}" of pipeline "${pipeline}" must be ${what}, got "${shown}"`);
  if (text.length > maxParamLength) throw wrong(`at most ${maxParamLength} characters`);
  switch (type) {
    case 'number': {
      const value = Number(text);
      if (!decimal.test(text.trim()) || !Number.isFinite(value)) throw wrong('a finite number');
      return value;
    }
    case 'integer': {
      const value = Number(text);
      if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) throw wrong('an integer');
      return value;
    }
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw wrong('true or false');
    default:
      return text;
  }
}

/** Parse repeated `k=v` flags into a record, refusing malformed ones. */
export function parseParamFlags(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new InvalidInputError(`--param "${flag.slice(0, 80)}" is not of the form name=value`);
    // defineProperty: `--param __proto__=x` must be a key like any other, not a prototype change.
    Object.defineProperty(out, flag.slice(0, eq), {
      value: flag.slice(eq + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * Fill the defaults of declared parameters a caller left out of already-typed values (a run started
 * from code, a trigger, a schedule), refusing a required one that is missing.
 */
export function withParamDefaults(
  spec: PipelineSpec,
  runParams: Record<string, ParamValue>,
): Record<string, ParamValue> {
  const filled: Record<string, ParamValue> = { ...runParams };
  for (const [name, param] of Object.entries(spec.params)) {
    if (Object.hasOwn(filled, name) && filled[name] !== undefined) continue;
    if (param.default === undefined) {
      throw new InvalidInputError(
        `pipeline "${spec.id}" needs parameter "${name}" (${param.type}): pass --param ${name}=<value>`,
      );
    }
    filled[name] = param.default;
  }
  return filled;
}
