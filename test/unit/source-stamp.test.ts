import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** cli/source-stamp.js: plain JavaScript (it runs before TypeScript can load), so typed here by hand. */
interface SourceStamp {
  distIsCurrent: (root: string) => boolean;
  writeStamp: (root: string) => string;
}
const stampModule = new URL('../../cli/source-stamp.js', import.meta.url).href;
const { distIsCurrent, writeStamp } = (await import(stampModule)) as SourceStamp;

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-stamp-'));
  await mkdir(join(root, 'cli'), { recursive: true });
  await mkdir(join(root, 'dist'), { recursive: true });
  await writeFile(join(root, 'index.ts'), 'export {};\n');
  await writeFile(join(root, 'cli', 'main.ts'), 'console.log("v1");\n');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('which code sluice runs: dist/ only when it was built from the sources on disk', () => {
  it('a checkout never built (no stamp) runs the sources', () => {
    expect(distIsCurrent(root)).toBe(false);
  });

  it('a fresh build runs dist/', () => {
    writeStamp(root);
    expect(distIsCurrent(root)).toBe(true);
  });

  it('a source edited after the build runs the sources again, until the next build', async () => {
    writeStamp(root);
    await writeFile(join(root, 'cli', 'main.ts'), 'console.log("v2, edited");\n');
    expect(distIsCurrent(root)).toBe(false);
    writeStamp(root);
    expect(distIsCurrent(root)).toBe(true);
  });

  it('a source file added or removed after the build runs the sources', async () => {
    writeStamp(root);
    await mkdir(join(root, 'lib'));
    await writeFile(join(root, 'lib', 'new.ts'), 'export const x = 1;\n');
    expect(distIsCurrent(root)).toBe(false);
    await rm(join(root, 'lib', 'new.ts'));
    expect(distIsCurrent(root)).toBe(true);
  });

  it('test files do not count (the build does not compile them)', async () => {
    writeStamp(root);
    await writeFile(join(root, 'cli', 'main.test.ts'), 'export {};\n');
    expect(distIsCurrent(root)).toBe(true);
  });
});
