import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../pipelines/errors.js';

/**
 * Make sure `SLUICE_HOME` exists and is writable before anything starts, so a bad value fails at once
 * with the fix instead of halfway through a run.
 */
export async function ensureHomeWritable(home: string): Promise<void> {
  const probe = join(home, `.write-probe-${process.pid}`);
  try {
    await mkdir(home, { recursive: true });
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigurationError(
      `SLUICE_HOME=${home} is not writable (${code}): set SLUICE_HOME to a directory you can write to`,
      { cause: error, details: { home } },
    );
  }
}
