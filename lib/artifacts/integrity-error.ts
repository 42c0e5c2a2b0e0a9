import { SluiceError } from '../../pipelines/errors.js';

/**
 * A stored artifact is missing or its bytes no longer hash to the sha256 it is stored under: someone or
 * something changed the store behind Sluice's back. Never retryable (reading again yields the same
 * bytes); the fix is to remove the damaged file and re-run the step that produced it, which the message
 * names when the sidecar says.
 */
export class ArtifactIntegrityError extends SluiceError {
  readonly code = 'ARTIFACT_INTEGRITY';
  readonly retryable = false;
}
