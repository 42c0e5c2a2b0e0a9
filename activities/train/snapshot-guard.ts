import { stat } from 'node:fs/promises';
import { DataValidationError, DependencyUnavailableError } from '../../pipelines/errors.js';

/**
 * Checks that a file read again and again (a snapshot streamed epoch after epoch) is still the file
 * training started on: same size, same modification time. `check` throws, naming the file and where
 * training stood, when it has changed (a snapshot must never be written while a step reads it) or
 * disappeared (the store lost it: a retried attempt opens it again and resumes from its checkpoint).
 */
export async function guardSnapshot(
  path: string,
  name: string,
): Promise<{ check: (where: string) => Promise<void> }> {
  const before = await stat(path);
  return {
    async check(where) {
      const now = await stat(path).catch(() => undefined);
      if (now === undefined) {
        throw new DependencyUnavailableError(
          `the snapshot ${name} disappeared while training streamed it (${where}): ` +
            'the artifact store lost the file mid-step; a retried attempt opens it again and resumes from its last epoch checkpoint',
          { details: { path, where } },
        );
      }
      if (now.size !== before.size || now.mtimeMs !== before.mtimeMs) {
        throw new DataValidationError(
          `the snapshot ${name} changed while training streamed it (${where}: ${before.size} bytes, now ${now.size}): ` +
            'a snapshot must not be written while a step reads it; rerun the pipeline so training reads one version of the data',
          { details: { path, where, bytes: { before: before.size, now: now.size } } },
        );
      }
    },
  };
}
