import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Sluice's package root: the nearest directory above this module holding Sluice's package.json.
 * Found by walking up so that the same code works from the sources and from the compiled dist/.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate) && readPackage(candidate).name === 'sluice') return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `no Sluice package.json above ${fileURLToPath(import.meta.url)}: run Sluice from its checkout or install`,
      );
    }
    dir = parent;
  }
}

let version: string | undefined;

/** Sluice's version, from its package.json. */
export function sluiceVersion(): string {
  version ??= readPackage(join(packageRoot(), 'package.json')).version ?? '0.0.0';
  return version;
}

function readPackage(path: string): { name?: string; version?: string } {
  return JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
}
