/**
 * Sluice's error hierarchy. Every error says what went wrong *and* how to fix it, names the thing
 * (file, step, variable, approver) and carries whether retrying could help. Activities turn these into
 * `ApplicationFailure`s at one boundary (see `activities/boundary.ts`); the CLI prints `message` as its
 * one-line cause.
 *
 * This module is sandbox-safe (no Node imports) so workflows and the DSL can share it.
 */
export interface SluiceErrorOptions {
  /** Structured facts for machines: file, column, step, expected, observed… */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export abstract class SluiceError extends Error {
  /** Stable machine-readable code, e.g. `INVALID_INPUT`. */
  abstract readonly code: string;
  /** Whether retrying the same call could succeed (a server coming up) or not (a malformed file). */
  abstract readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? {};
  }
}

/** The caller gave something unusable: a bad flag, file, parameter or environment value. */
export class InvalidInputError extends SluiceError {
  readonly code = 'INVALID_INPUT';
  readonly retryable = false;
}

/** The caller is known but may not do this: a policy, role or separation-of-duties refusal. */
export class PermissionDeniedError extends SluiceError {
  readonly code = 'PERMISSION_DENIED';
  readonly retryable = false;
}

/** Data broke its contract; the anomalies are in `details`. */
export class DataValidationError extends SluiceError {
  readonly code = 'DATA_VALIDATION';
  readonly retryable = false;
}

/** A pipeline definition failed lint: duplicate ids, unknown dependencies, cycles… */
export class PipelineDefinitionError extends SluiceError {
  readonly code = 'PIPELINE_DEFINITION';
  readonly retryable = false;
}

/** Something Sluice needs is missing or unreachable: the Temporal CLI, a server, a writable directory. */
export class DependencyUnavailableError extends SluiceError {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  readonly retryable = true;
}

/** A value the user or an operator must fix before anything can start. */
export class ConfigurationError extends SluiceError {
  readonly code = 'CONFIGURATION';
  readonly retryable = false;
}

/** Render an error (and its causes) as the one line the CLI prints. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
