import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSource } from '../../lib/paths.js';
import { InvalidInputError } from '../../pipelines/errors.js';

/**
 * Hostile data sources (test/fixtures/hostile/README.md) beyond source-paths.test.ts: links that loop or
 * lead to devices and pipes, percent-encoded NULs and newlines, names longer than any path. Every one is
 * refused with an InvalidInputError whose message is one line of reasonable length.
 */

let base: string;
let root: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'sluice-hostile-paths-'));
  root = join(base, 'data');
  await mkdir(root);
  await writeFile(join(root, 'ok.csv'), 'a\n1\n');
  await symlink(join(root, 'loop-b'), join(root, 'loop-a'));
  await symlink(join(root, 'loop-a'), join(root, 'loop-b'));
  await symlink('/dev/zero', join(root, 'zero.csv'));
  await symlink('/proc/self/environ', join(root, 'environ.csv'));
  execFileSync('mkfifo', [join(root, 'pipe.csv')]);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function refusal(source: string): Promise<Error> {
  return resolveSource(source, [root]).then(
    (path) => new Error(`accepted as ${path}`),
    (error: unknown) => error as Error,
  );
}

describe('hostile data sources are refused with one short line', () => {
  it.each([
    [
      'a symlink loop',
      'loop-a',
      /source loop-a cannot be resolved \(ELOOP\): check its permissions and links/,
    ],
    ['a link to /dev/zero', 'zero.csv', /zero\.csv resolves to \/dev\/zero, outside the allowed data roots/],
    [
      'a link to /proc',
      'environ.csv',
      /resolves to \/proc\/(self|\d+)\/environ, outside the allowed data roots/,
    ],
    ['a named pipe (would block a reader forever)', 'pipe.csv', /pipe\.csv is not a regular file/],
    [
      '50 levels of ../',
      `${'../'.repeat(50)}etc/passwd`,
      /resolves to \/etc\/passwd, outside the allowed data roots/,
    ],
    ['a dot-dot inside a file URI', 'file:///etc/../etc/passwd', /resolves to \/etc\/passwd, outside/],
    ['a file URI with a host', 'file://localhost/etc/passwd', /resolves to \/etc\/passwd, outside/],
    ['a relative file: URI', 'file:ok.csv', /resolves to \/ok\.csv, outside the allowed data roots/],
    [
      'an upper-case scheme',
      'FILE:///etc/passwd',
      /unsupported scheme: give a local path or a file:\/\/ URI/,
    ],
    [
      'a newline in the name',
      'ok.csv\n',
      /source "ok\.csv\\n" contains a control character \(U\+000A\): give a plain file path/,
    ],
    ['an escape sequence', '\u001b[31mok.csv', /contains a control character \(U\+001B\)/],
    [
      'a percent-encoded NUL',
      'file:///etc/passwd%00.csv',
      /source "file:\/\/\/etc\/passwd%00\.csv" contains a NUL byte/,
    ],
    ['a percent-encoded newline', `file://${'/tmp'}/x%0a.csv`, /contains a control character \(U\+000A\)/],
    [
      'a 5 000-character name',
      `${'x'.repeat(5000)}.csv`,
      /is 5004 characters long, longer than any path \(4096\)/,
    ],
    ['a 3 000-level path', `${'a/'.repeat(3000)}ok.csv`, /is 6006 characters long, longer than any path/],
    ['a 300-character file name', `${'y'.repeat(300)}.csv`, /cannot be resolved \(ENAMETOOLONG\)/],
  ])('%s', async (_name, source, message) => {
    const error = await refusal(source);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/[\n\0]/);
    expect(error.message.length).toBeLessThan(1000);
  });

  it('a percent-encoded NUL inside the roots is refused too, not passed on to DuckDB', async () => {
    const error = await refusal(`file://${root}/ok.csv%00.parquet`);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(/contains a NUL byte/);
  });

  it('the good file next to them still resolves', async () => {
    expect(await resolveSource('ok.csv', [root])).toBe(join(root, 'ok.csv'));
  });
});
