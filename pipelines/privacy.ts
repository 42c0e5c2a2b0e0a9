import { z } from 'zod';

/**
 * Privacy at ingest (issue 3, item 7), the part of a data contract that decides what personal data may
 * enter the artifact store at all. Kept minimal and separate so the full contract schema
 * (`pipelines/contract.ts`) can embed {@link piiActionSchema} per column, and ingest can take a
 * {@link PiiPolicy} without depending on the rest of the contract. Sandbox-safe.
 */

/**
 * What ingest does to a column marked `pii`:
 * - `hash`: replace every value by HMAC-SHA256(key, value as text), hex. Joins and counts still work
 *   (equal values give equal hashes), the raw value is unrecoverable without the key.
 * - `drop`: the column never reaches the snapshot.
 */
export const piiActionSchema = z.enum(['hash', 'drop']);
export type PiiAction = z.infer<typeof piiActionSchema>;

/** Column name → action, e.g. `{ email: 'hash', phone: 'drop' }`. Names are matched exactly. */
export const piiPolicySchema = z.record(z.string().min(1), piiActionSchema);
export type PiiPolicy = z.infer<typeof piiPolicySchema>;

/** Kinds of personal data ingest looks for in columns that are not marked. */
export type PiiKind = 'e-mail' | 'phone' | 'card-number';

/**
 * A warning that an unmarked column looks like personal data. A warning, not an error: the heuristics
 * can be wrong, and the fix (mark the column in the contract) is the engineer's decision. The shape
 * matches the anomalies validation reports (column, check, expected, observed, severity). A type alias,
 * not an interface, so it is assignable to `JsonValue` in step outputs.
 */
export type PiiSuspectAnomaly = {
  column: string;
  check: 'pii-suspect';
  expected: string;
  observed: PiiKind;
  severity: 'warn';
  /** The evidence and the fix, for humans. */
  message: string;
};

/**
 * The policy a contract's columns declare: every column with a `pii` action. Lets a full contract
 * (whose column entries carry `pii?: PiiAction`) drive ingest without ingest knowing its other fields.
 */
export function piiPolicyOf(columns: Readonly<Record<string, { pii?: PiiAction | undefined }>>): PiiPolicy {
  const policy: PiiPolicy = {};
  for (const [name, column] of Object.entries(columns)) {
    if (column.pii) policy[name] = column.pii;
  }
  return policy;
}
