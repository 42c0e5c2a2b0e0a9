import { z } from 'zod';
import { schemaVariants } from '../schema-variants.js';

/**
 * Render the reference of a set of zod schemas as Markdown tables: every field with its type, default
 * and meaning (the schema's `.describe()` text), read from zod 4's JSON Schema of the input side. Pure;
 * `pipelines/docs/generate.ts` assembles `docs/pipelines.md` with it.
 */

/** A JSON Schema node as zod 4 writes it (only the keywords the tables read). */
interface Node {
  type?: string | string[];
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  title?: string;
}

export interface Row {
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  description?: string | undefined;
}

/** Fields rendered so far, by shape, so a schema used twice is written out once and referred to. */
export type SeenShapes = Map<string, string>;

/** The JSON Schema of a zod schema's input, with every default (zod leaves out some around pipes). */
export function inputJsonSchema(schema: z.ZodType): Node {
  return z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      // A hand-parsed union (the trainer) is documented as its variants.
      const { parent } = ctx.zodSchema._zod;
      const union = schemaVariants.get(ctx.zodSchema) ?? (parent ? schemaVariants.get(parent) : undefined);
      if (union) {
        const variants = union.variants.map((variant) => inputJsonSchema(variant as z.ZodType));
        ctx.jsonSchema.anyOf = variants as unknown as NonNullable<typeof ctx.jsonSchema.anyOf>;
      }
      const def = ctx.zodSchema._zod.def;
      if (def.type === 'default' && !('default' in ctx.jsonSchema)) {
        ctx.jsonSchema.default = (def as { defaultValue: unknown }).defaultValue;
      }
    },
  }) as Node;
}

/**
 * The rows of an object schema: each field, then the fields of its objects, lists of objects and
 * variants, with dotted paths (`split.key`, `features.numeric[].name`, `contract.columns.<name>.type`).
 */
export function schemaRows(schema: z.ZodType, where: string, seen: SeenShapes): Row[] {
  const rows: Row[] = [];
  objectRows(inputJsonSchema(schema), '', rows, where, seen);
  return rows;
}

function objectRows(node: Node, prefix: string, rows: Row[], where: string, seen: SeenShapes): void {
  const required = new Set(node.required ?? []);
  for (const [key, child] of collapse(node.properties ?? {})) {
    fieldRows(child, `${prefix}${key}`, required.has(key), rows, where, seen);
  }
  if (typeof node.additionalProperties === 'object') {
    fieldRows(node.additionalProperties, `${prefix}<name>`, false, rows, where, seen);
  }
}

function fieldRows(
  node: Node,
  path: string,
  required: boolean,
  rows: Row[],
  where: string,
  seen: SeenShapes,
): void {
  const row: Row = { path, type: typeText(node), required, description: node.description };
  if ('default' in node) row.default = node.default;
  rows.push(row);
  const nested = node.title ? [] : nestedObjects(node);
  if (nested.length === 0) return;
  const shape = JSON.stringify(strip(node));
  const first = seen.get(shape);
  if (first !== undefined && nested.some(([, n]) => Object.keys(n.properties ?? {}).length > 1)) {
    row.description = `${row.description ?? ''} Fields as \`${first}\`.`.trim();
    return;
  }
  seen.set(shape, `${path}` + (where ? ` (${where})` : ''));
  for (const [suffix, child] of nested) objectRows(child, `${path}${suffix}`, rows, where, seen);
}

/** Object schemas inside a field, with the path suffix that reaches them. */
function nestedObjects(node: Node): [string, Node][] {
  if (node.title) return [];
  if (node.properties || typeof node.additionalProperties === 'object') {
    return node.properties && Object.keys(node.properties).length > 0
      ? [['.', node]]
      : typeof node.additionalProperties === 'object' && isObject(node.additionalProperties)
        ? [['.<name>.', node.additionalProperties]]
        : [];
  }
  if (node.items) return nestedObjects(node.items).map(([suffix, child]) => [`[]${suffix}`, child]);
  const variants = node.oneOf ?? node.anyOf ?? [];
  return variants.flatMap((variant) => {
    const tag = discriminator(variant);
    return nestedObjects(variant).map(([suffix, child]): [string, Node] => [
      tag ? ` (${tag})${suffix}` : suffix,
      child,
    ]);
  });
}

function isObject(node: Node): boolean {
  return node.properties !== undefined || typeof node.additionalProperties === 'object';
}

/** `kind: "hash"` for a variant told apart by a constant field. */
function discriminator(node: Node): string | undefined {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (child.const !== undefined) return `${key}: ${JSON.stringify(child.const)}`;
  }
  const [key, first] = Object.entries(node.properties ?? {})[0] ?? [];
  return first?.enum ? `${key}: ${first.enum.map((v) => JSON.stringify(v)).join(' | ')}` : undefined;
}

/** Many fields of one shape (a bound per metric name) become one row: `<auc|prAuc|…>`. */
function collapse(properties: Record<string, Node>): [string, Node][] {
  const groups = new Map<string, string[]>();
  for (const [key, child] of Object.entries(properties)) {
    const shape = JSON.stringify(child);
    groups.set(shape, [...(groups.get(shape) ?? []), key]);
  }
  const done = new Set<string>();
  const out: [string, Node][] = [];
  for (const [key, child] of Object.entries(properties)) {
    const group = groups.get(JSON.stringify(child)) ?? [key];
    if (group.length < 4) {
      out.push([key, child]);
    } else if (!done.has(group.join())) {
      done.add(group.join());
      out.push([`<${group.join('|')}>`, child]);
    }
  }
  return out;
}

function strip(node: Node): unknown {
  const { description: _d, default: _f, ...rest } = node;
  return rest;
}

/** A field's type as a reader says it: `integer 1–1000`, `"mean" | "median"`, `list of string`. */
export function typeText(node: Node): string {
  if (node.title) return node.title;
  if (Array.isArray(node.type)) return node.type.join(' | ');
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.enum) return node.enum.map((value) => JSON.stringify(value)).join(' | ');
  const variants = node.oneOf ?? node.anyOf;
  if (variants) return [...new Set(variants.map(typeText))].join(' | ');
  switch (node.type ?? 'any') {
    case 'string':
      return `string${range(node.minLength, node.maxLength, ' chars')}${node.format ? ` (${node.format})` : ''}`;
    case 'number':
    case 'integer':
      return `${node.type}${numberRange(node)}`;
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return `list of ${node.items ? listItem(typeText(node.items)) : 'any JSON'}${range(node.minItems, node.maxItems, ' items')}`;
    case 'object':
      if (node.properties && Object.keys(node.properties).length > 0) return 'object';
      if (typeof node.additionalProperties === 'object')
        return `map of name → ${typeText(node.additionalProperties)}`;
      return 'object';
    default:
      return 'any JSON';
  }
}

const maxSafe = Number.MAX_SAFE_INTEGER;

function listItem(text: string): string {
  return text.includes(' | ') ? `(${text})` : text;
}

function numberRange(node: Node): string {
  const low =
    node.exclusiveMinimum !== undefined
      ? `> ${node.exclusiveMinimum}`
      : node.minimum !== undefined && node.minimum > -maxSafe
        ? `≥ ${node.minimum}`
        : '';
  const high =
    node.exclusiveMaximum !== undefined
      ? `< ${node.exclusiveMaximum}`
      : node.maximum !== undefined && node.maximum < maxSafe
        ? `≤ ${node.maximum}`
        : '';
  return [low, high].filter(Boolean).length > 0 ? ` ${[low, high].filter(Boolean).join(', ')}` : '';
}

function range(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined) return ` (${min === 0 ? 'at most ' : `${min}–`}${max}${unit})`;
  if (min !== undefined && min > 1) return ` (at least ${min}${unit})`;
  if (max !== undefined) return ` (at most ${max}${unit})`;
  return '';
}

/** A Markdown table of rows; `|` inside cells escaped. */
export function rowsTable(rows: readonly Row[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = ['| field | type | default | meaning |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    const type = `${row.type}${row.required ? ' (required)' : ''}`;
    const fallback = 'default' in row ? `\`${JSON.stringify(row.default)}\`` : '';
    lines.push(
      `| \`${cell(row.path)}\` | ${cell(type)} | ${cell(fallback)} | ${cell(row.description ?? '')} |`,
    );
  }
  return lines.join('\n');
}
