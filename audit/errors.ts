import { SluiceError } from '../pipelines/errors.js';

/**
 * Audit input Sluice cannot use as evidence: a file that is not a history, a truncated one, a history
 * of a workflow type Sluice does not run, an export that is not an export. Retrying will not help;
 * the message names the file and what to do.
 */
export class AuditInputError extends SluiceError {
  readonly code = 'AUDIT_INPUT';
  readonly retryable = false;
}

/**
 * An export no longer matches its manifest: a file was changed, removed or added after export. Its
 * histories are not evidence until the difference is explained.
 */
export class ExportTamperedError extends SluiceError {
  readonly code = 'EXPORT_TAMPERED';
  readonly retryable = false;
}

/**
 * Replaying a history against today's workflow code did not reproduce it: the code would not decide
 * the same way (or the history was altered). The message names the first diverging event.
 */
export class ReplayDivergedError extends SluiceError {
  readonly code = 'REPLAY_DIVERGED';
  readonly retryable = false;
}
