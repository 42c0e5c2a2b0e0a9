import { z } from 'zod';
import { durationPattern } from './duration.js';
import { InvalidInputError } from './errors.js';
import { piiActionSchema } from './privacy.js';

/**
 * A data contract: what a dataset must look like before anything trains on it (issue 3, item 3).
 * It lives in a pipeline spec (so it is plain JSON, zod-validated, sandbox-safe) or in a JSON file for
 * `sluice validate --contract`. Checks that a statistics pass can answer (type, nulls, min/max, NaN,
 * row count, freshness) cost no extra scan; `allowed`, `regex`, `unique` and custom SQL cost one
 * targeted query.
 */

/** Type families: lowercase names that accept every DuckDB type of that kind. */
export const typeFamilies = [
  'integer',
  'float',
  'decimal',
  'number',
  'string',
  'boolean',
  'date',
  'timestamp',
  'time',
] as const;
export type TypeFamily = (typeof typeFamilies)[number];

/** `error` blocks the gate; `warn` is recorded and lets the run go on. */
export const severitySchema = z.enum(['error', 'warn']);
export type Severity = z.infer<typeof severitySchema>;

const columnType = z
  .string()
  .min(1)
  .refine((type) => !/^[a-z_]+$/.test(type) || (typeFamilies as readonly string[]).includes(type), {
    message: `a family (${typeFamilies.join(', ')}) or an exact DuckDB type in capitals such as BIGINT or DECIMAL(10,2)`,
  });

const bound = z.union([z.number(), z.string().min(1)]);
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const regex = z
  .string()
  .min(1)
  .refine(
    (pattern) => {
      try {
        new RegExp(pattern, 'u');
        return true;
      } catch {
        return false;
      }
    },
    { message: 'a valid regular expression (RE2 syntax; no look-around or back-references)' },
  );

export const columnContractSchema = z
  .strictObject({
    /** A family (`integer` accepts TINYINT…HUGEINT) or an exact DuckDB type (`BIGINT`). */
    type: columnType
      .optional()
      .describe('A family (`integer` accepts TINYINT…HUGEINT) or an exact DuckDB type (`BIGINT`).'),
    /** The column must exist. */
    required: z.boolean().default(true).describe('The column must exist.'),
    /** `false` forbids any null. */
    nullable: z.boolean().default(true).describe('`false` forbids any null.'),
    /** Largest share of nulls tolerated, 0–1. */
    maxNullFraction: z.number().min(0).max(1).optional().describe('Largest share of nulls tolerated, 0–1.'),
    /** Smallest value allowed: a number, or an ISO date/time for date and timestamp columns. */
    min: bound
      .optional()
      .describe('Smallest value allowed: a number, or an ISO date/time for date and timestamp columns.'),
    /** Largest value allowed. */
    max: bound.optional().describe('Largest value allowed.'),
    /** The only values allowed (nulls are governed by `nullable`). */
    allowed: z
      .array(scalar)
      .min(1)
      .optional()
      .describe('The only values allowed (nulls are governed by `nullable`).'),
    /** Every non-null value, as text, must match the whole pattern. */
    regex: regex.optional().describe('Every non-null value, as text, must match the whole pattern.'),
    /** No two non-null values may be equal. */
    unique: z.boolean().default(false).describe('No two non-null values may be equal.'),
    /** Forbid NaN and ±Infinity in float columns. */
    finite: z.boolean().default(false).describe('Forbid NaN and ±Infinity in float columns.'),
    /**
     * Personal data: `hash` (ingest replaces values by a keyed HMAC-SHA256) or `drop` (ingest leaves the
     * column out). Ingest applies it; validation proves it was applied.
     */
    pii: piiActionSchema
      .optional()
      .describe(
        'Personal data: `hash` (ingest replaces values by a keyed HMAC-SHA256) or `drop` (ingest leaves the column out). Ingest applies it; validation proves it was applied.',
      ),
    /** Severity of every check on this column. */
    severity: severitySchema.default('error').describe('Severity of every check on this column.'),
    description: z.string().optional().describe('What the column holds, for reports.'),
  })
  .refine((c) => !bothNumbers(c.min, c.max) || (c.min as number) <= (c.max as number), {
    message: 'min must not exceed max',
    path: ['min'],
  });

export const customCheckSchema = z.strictObject({
  /** Stable name: it appears in anomalies as `sql:<name>`. */
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _, starting with a letter')
    .describe('Stable name: it appears in anomalies as `sql:<name>`.'),
  /**
   * One SELECT over the view `dataset`. Either it returns the violating rows (none = pass), or it
   * returns a single BOOLEAN column that must be true on every row (`SELECT count(*) > 0 FROM dataset`).
   */
  sql: z
    .string()
    .min(1)
    .describe(
      'One SELECT over the view `dataset`. Either it returns the violating rows (none = pass), or it returns a single BOOLEAN column that must be true on every row (`SELECT count(*) > 0 FROM dataset`).',
    ),
  severity: severitySchema
    .default('error')
    .describe('`error` stops the run at the validation gate; `warn` is recorded.'),
  description: z.string().optional().describe('What the check guards against, for reports.'),
});

export const contractSchema = z
  .strictObject({
    /** Per column, by exact name. */
    columns: z
      .record(z.string().min(1), columnContractSchema)
      .default({})
      .describe('Per column, by exact name.'),
    /** Bounds on the number of rows. */
    rows: z
      .strictObject({
        min: z.number().int().min(0).optional().describe('Fewest rows allowed.'),
        max: z.number().int().min(0).optional().describe('Most rows allowed.'),
        severity: severitySchema
          .default('error')
          .describe('`error` stops the run at the validation gate; `warn` is recorded.'),
      })
      .refine((r) => r.min !== undefined || r.max !== undefined, { message: 'give min, max or both' })
      .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, {
        message: 'min must not exceed max',
      })
      .optional()
      .describe('Bounds on the number of rows.'),
    /** The newest value of a date/timestamp column must be at most `maxAge` older than the reference time. */
    freshness: z
      .strictObject({
        column: z.string().min(1).describe('A date or timestamp column.'),
        maxAge: z
          .string()
          .regex(durationPattern, 'a duration such as 30m, 48h or 7d')
          .describe('How old its newest value may be: 30m, 48h, 7d.'),
        severity: severitySchema
          .default('error')
          .describe('`error` stops the run at the validation gate; `warn` is recorded.'),
      })
      .optional()
      .describe(
        'The newest value of a date/timestamp column must be at most `maxAge` older than the reference time.',
      ),
    /** Columns the contract does not name: allowed, a warning, or an error. */
    unexpectedColumns: z
      .enum(['allow', 'warn', 'error'])
      .default('allow')
      .describe('Columns the contract does not name: allowed, a warning, or an error.'),
    checks: z
      .array(customCheckSchema)
      .default([])
      .refine((checks) => new Set(checks.map((c) => c.name)).size === checks.length, {
        message: 'check names must be unique',
      })
      .describe('Custom SQL checks over the view `dataset`.'),
  })
  .superRefine((contract, ctx) => {
    if (contract.freshness && contract.columns[contract.freshness.column]?.required === false) {
      ctx.addIssue({
        code: 'custom',
        path: ['freshness', 'column'],
        message: 'the freshness column must not be marked required: false',
      });
    }
  });

/** What an engineer writes (defaults may be left out). */
export type ContractInput = z.input<typeof contractSchema>;
/** A parsed contract with every default filled in. */
export type Contract = z.output<typeof contractSchema>;
export type ColumnContract = z.output<typeof columnContractSchema>;
export type CustomCheck = z.output<typeof customCheckSchema>;

/**
 * Parse a contract, or say exactly what is wrong with it: every zod issue with its path, so the
 * engineer can fix them all in one edit.
 *
 * @param where names the contract in the message: a file, or `step "validate" params.contract`.
 * @throws InvalidInputError listing `path: message` for every issue.
 */
export function parseContract(value: unknown, where: string): Contract {
  const parsed = contractSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new InvalidInputError(`the contract in ${where} is invalid: ${issues.join('; ')}; fix it and retry`, {
    details: { where, issues },
  });
}

/** Whether a DuckDB type name belongs to a family, or equals an exact type name. */
export function typeMatches(expected: string, actual: string): boolean {
  const family = typeFamily(actual);
  switch (expected) {
    case 'number':
      return family === 'integer' || family === 'float' || family === 'decimal';
    case 'integer':
    case 'float':
    case 'decimal':
    case 'string':
    case 'boolean':
    case 'date':
    case 'timestamp':
    case 'time':
      return family === expected;
    default:
      return normaliseType(expected) === normaliseType(actual);
  }
}

/** Column families Sluice computes statistics by; `other` gets counts only. */
export type ColumnFamily = Exclude<TypeFamily, 'number'> | 'other';

/** The family of a DuckDB type name, e.g. `BIGINT` → integer, `TIMESTAMP WITH TIME ZONE` → timestamp. */
export function typeFamily(duckdbType: string): ColumnFamily {
  const type = normaliseType(duckdbType);
  if (/^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(type)) return 'integer';
  if (type === 'FLOAT' || type === 'DOUBLE') return 'float';
  if (type.startsWith('DECIMAL')) return 'decimal';
  if (type === 'VARCHAR' || type.startsWith('ENUM') || type === 'UUID') return 'string';
  if (type === 'BOOLEAN') return 'boolean';
  if (type === 'DATE') return 'date';
  if (type.startsWith('TIMESTAMP')) return 'timestamp';
  if (type.startsWith('TIME')) return 'time';
  return 'other';
}

function normaliseType(type: string): string {
  return type.trim().replace(/\s+/g, ' ').toUpperCase();
}

function bothNumbers(a: unknown, b: unknown): boolean {
  return typeof a === 'number' && typeof b === 'number';
}
