import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSource } from '../../lib/paths.js';
import { InvalidInputError } from '../../pipelines/errors.js';

let base: string;
let root: string;
let outside: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'sluice-paths-'));
  root = join(base, 'data');
  outside = join(base, 'secret');
  await mkdir(join(root, 'nested'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'nested', 'ok.csv'), 'a\n1\n');
  await writeFile(join(outside, 'keys.csv'), 'k\nhunter2\n');
  await symlink(join(outside, 'keys.csv'), join(root, 'link-out.csv'));
  await symlink(outside, join(root, 'dir-out'));
  await symlink(join(root, 'nested', 'ok.csv'), join(root, 'link-in.csv'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

const refusal = (source: string): Promise<Error> =>
  resolveSource(source, [root]).then(
    (path) => new Error(`accepted as ${path}`),
    (error: unknown) => error as Error,
  );

describe('resolveSource keeps data sources inside the allowed roots', () => {
  it('accepts relative paths (from the first root), absolute paths, file:// URIs and links that stay inside', async () => {
    const real = join(root, 'nested', 'ok.csv');
    expect(await resolveSource('nested/ok.csv', [root])).toBe(real);
    expect(await resolveSource(real, [root])).toBe(real);
    expect(await resolveSource(pathToFileURL(real).href, [root])).toBe(real);
    expect(await resolveSource('link-in.csv', [root])).toBe(real);
    expect(await resolveSource('nested/../nested/ok.csv', [root])).toBe(real);
  });

  it.each([
    ['../secret/keys.csv', /resolves to .*secret\/keys\.csv, outside the allowed data roots/],
    ['nested/../../secret/keys.csv', /outside the allowed data roots/],
    ['/etc/passwd', /source \/etc\/passwd resolves to \/etc\/passwd, outside/],
    ['file:///etc/passwd', /source file:\/\/\/etc\/passwd resolves to \/etc\/passwd, outside/],
    ['file:///etc/%2e%2e/etc/passwd', /outside the allowed data roots/],
    ['link-out.csv', /link-out\.csv resolves to .*secret\/keys\.csv, outside/],
    ['dir-out/keys.csv', /dir-out\/keys\.csv resolves to .*secret\/keys\.csv, outside/],
    ['https://example.com/data.csv', /unsupported scheme: give a local path or a file:\/\/ URI/],
    ['file://host/share/data.csv', /not a valid file:\/\/ URI/],
    ['nested', /is not a regular file/],
    ['nested/missing.csv', /does not exist \(looked at .*nested\/missing\.csv\): check the path/],
    ['bad\0name.csv', /contains a NUL byte/],
    ['   ', /the data source is empty/],
  ])('refuses %j', async (source, message) => {
    const error = await refusal(source);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(message);
  });

  it('refuses a path outside the roots without saying whether it exists', async () => {
    const missing = await refusal(join(outside, 'no-such-file.csv'));
    const present = await refusal(join(outside, 'keys.csv'));
    expect(missing.message).toMatch(/outside the allowed data roots/);
    expect(present.message).toMatch(/outside the allowed data roots/);
  });
});
