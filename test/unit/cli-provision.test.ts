import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { locateTemporalCli } from '../../infra/temporal/cli-provision.js';
import { ConfigurationError, DependencyUnavailableError } from '../../pipelines/errors.js';
import { freePort } from '../support/paths.js';

let dir: string;
let closed: string;

/** A real executable that answers `--version` like the Temporal CLI. */
async function fakeCli(path: string, version: string): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, `#!/bin/sh\necho "temporal version ${version} (Server 1.29.1, UI 2.42.1)"\n`);
  await chmod(path, 0o755);
  return path;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  closed = `http://127.0.0.1:${await freePort()}/`;
});

const offline = { allowDownload: false, allowBuild: false } as const;

describe('locateTemporalCli, in its documented order', () => {
  it('1. TEMPORAL_CLI_PATH wins over everything else', async () => {
    const env = await fakeCli(join(dir, 'env', 'temporal'), '1.0.0');
    await fakeCli(join(dir, 'path', 'temporal'), '2.0.0');
    const cli = await locateTemporalCli({
      envPath: env,
      searchPath: join(dir, 'path'),
      cacheDir: dir,
      ...offline,
    });
    expect(cli).toEqual({ source: 'env', path: env, version: '1.0.0 (Server 1.29.1, UI 2.42.1)' });
  });

  it('2. then `temporal` on PATH, skipping directories without it', async () => {
    const onPath = await fakeCli(join(dir, 'path', 'temporal'), '2.0.0');
    await fakeCli(join(dir, 'cache', 'temporal'), '3.0.0');
    const cli = await locateTemporalCli({
      searchPath: `${join(dir, 'empty')}:${join(dir, 'path')}`,
      cacheDir: join(dir, 'cache'),
      ...offline,
    });
    expect(cli).toMatchObject({ source: 'path', path: onPath });
  });

  it('3. then the project cache, preferring the version recorded when Sluice built it', async () => {
    const cached = await fakeCli(join(dir, 'cache', 'temporal'), '0.0.0-DEV');
    await writeFile(`${cached}.json`, JSON.stringify({ version: 'v1.5.1', server: 'Server 1.29.1' }));
    const cli = await locateTemporalCli({ searchPath: '', cacheDir: join(dir, 'cache'), ...offline });
    expect(cli).toEqual({ source: 'cache', path: cached, version: 'v1.5.1 (Server 1.29.1)' });
  });

  it('4. then the SDK download, tried only when its host answers', async () => {
    const cli = await locateTemporalCli({
      searchPath: '',
      cacheDir: join(dir, 'cache'),
      allowBuild: false,
      downloadProbeUrl: closed, // nothing listens: the way is reported as failed
    }).catch((error: unknown) => error);
    expect(cli).toBeInstanceOf(DependencyUnavailableError);
    expect((cli as Error).message).toContain(`the SDK cannot download it (${closed}: ECONNREFUSED)`);
  });

  it('5. with every way failed, one message lists each and says what to install', async () => {
    const error = await locateTemporalCli({
      searchPath: join(dir, 'nothing-here'),
      cacheDir: join(dir, 'cache'),
      downloadProbeUrl: closed,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toBe(
      `no Temporal CLI found: TEMPORAL_CLI_PATH is not set; no \`temporal\` on PATH; no cached binary at ${join(dir, 'cache', 'temporal')}; ` +
        `the SDK cannot download it (${closed}: ECONNREFUSED); Go is not installed, so it cannot be built. ` +
        'Fix: install the Temporal CLI (https://docs.temporal.io/cli) and put it on PATH, or set TEMPORAL_CLI_PATH, ' +
        'or install Go and run `npx sluice setup`',
    );
  });

  it('a TEMPORAL_CLI_PATH that is missing, not executable or a directory is an error, not a fallback', async () => {
    await fakeCli(join(dir, 'path', 'temporal'), '2.0.0');
    const plain = join(dir, 'plain');
    await writeFile(plain, 'not a program');
    for (const [path, problem] of [
      [join(dir, 'missing'), 'does not exist'],
      [plain, 'is not executable'],
      [dir, 'is not a file'],
    ] as const) {
      const error = await locateTemporalCli({
        envPath: path,
        searchPath: join(dir, 'path'),
        cacheDir: dir,
        ...offline,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toBe(
        `TEMPORAL_CLI_PATH=${path} ${problem}: point it at a temporal binary or unset it`,
      );
    }
  });

  it('a binary that does not run is reported with the fix', async () => {
    const broken = join(dir, 'temporal');
    await writeFile(broken, '#!/bin/sh\nexit 3\n');
    await chmod(broken, 0o755);
    await expect(locateTemporalCli({ envPath: broken, cacheDir: dir, ...offline })).rejects.toThrow(
      /the Temporal CLI at .* does not run .*: replace it or point TEMPORAL_CLI_PATH at a working one/,
    );
  });
});
