import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sluice } from '../support/cli.js';

describe('sluice argument handling', () => {
  it('--version prints the package version', async () => {
    const result = await sluice(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('--help lists every command', async () => {
    const result = await sluice(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['dev', 'worker', 'setup', 'doctor', 'run', 'status']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it('an unknown command is one line on stderr and exit 1', async () => {
    const result = await sluice(['deploy-everything']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("sluice: unknown command 'deploy-everything'\n");
    expect(result.stdout).toBe('');
  });

  it('an unknown flag is one line on stderr and exit 1, with a suggestion when close', async () => {
    const result = await sluice(['run', 'first-dag', '--wiat']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sluice: unknown option '--wiat'\n\(Did you mean --wait\?\)\n$/);
  });

  it('an invalid environment value names the variable and stops before anything starts', async () => {
    const result = await sluice(['worker'], { SLUICE_UI_PORT: 'eighty' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sluice: SLUICE_UI_PORT="eighty" is invalid: .*; fix or unset it\n$/);
  });

  it('a missing or non-executable TEMPORAL_CLI_PATH is refused with the fix', async () => {
    const missing = await sluice(['setup'], { TEMPORAL_CLI_PATH: '/nope/temporal' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'sluice: TEMPORAL_CLI_PATH=/nope/temporal does not exist: point it at a temporal binary or unset it\n',
    );
    const notExecutable = await sluice(['setup'], {
      TEMPORAL_CLI_PATH: new URL('../../package.json', import.meta.url).pathname,
    });
    expect(notExecutable.code).toBe(1);
    expect(notExecutable.stderr).toMatch(
      /package\.json is not executable: point it at a temporal binary or unset it\n$/,
    );
  });

  it('an unwritable SLUICE_HOME is refused before a worker starts', async () => {
    // A directory cannot be made under a regular file, whoever runs the test (root included).
    const file = join(await mkdtemp(join(tmpdir(), 'sluice-home-')), 'a-file');
    await writeFile(file, '');
    const result = await sluice(['worker'], { SLUICE_HOME: `${file}/home`, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `sluice: SLUICE_HOME=${file}/home is not writable (ENOTDIR): set SLUICE_HOME to a directory you can write to\n`,
    );
  });
});
