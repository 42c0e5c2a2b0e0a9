import type { Severity } from './contract.js';

/**
 * The outcome of checking a dataset against its contract (issue 3, item 5). A failed contract is a
 * *result*, not an exception (STYLE.md): the activity returns it and workflow code decides the gate
 * from `errorCount`, so a replay re-derives the decision. Plain JSON, sandbox-safe.
 */
export interface ValidationResult {
  format: 'sluice.validation/v1';
  dataset: { name: string; sha256?: string };
  /** No anomaly of severity `error`. */
  passed: boolean;
  errorCount: number;
  warningCount: number;
  /** How many checks ran (every column check, dataset check and custom SQL check). */
  checks: number;
  /** The time freshness was measured against, ISO-8601. */
  referenceTime: string;
  anomalies: Anomaly[];
}

/** One broken expectation, worded for the engineer who has to fix the data or the contract. */
export interface Anomaly {
  /** Absent for dataset-level checks (rows, custom SQL). */
  column?: string;
  /**
   * `required`, `type`, `nullable`, `max-null-fraction`, `min`, `max`, `allowed`, `regex`, `unique`,
   * `finite`, `rows`, `freshness`, `unexpected-column`, or `sql:<name>` for a custom check.
   */
  check: string;
  /** What the contract asks, in words: `>= 0`, `no nulls`, `one of [a, b]`. */
  expected: string;
  /** What the data has: the offending statistic, or the number of violating values or rows. */
  observed: string | number;
  severity: Severity;
  /** Violating values or rows, when counted. */
  count?: number;
  /** Up to five distinct offending values (or rows, as JSON text), sorted. */
  examples?: (string | number | boolean | null)[];
}

/** Most anomalies a step output carries; the full list is in the stored artifact. */
export const anomalyCap = 50;
