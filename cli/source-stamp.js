/* global process, console, URL */
// The fingerprint of the TypeScript sources that `npm run build` compiled into dist/. `cli/bin.js`
// runs dist/ only when the sources still match it, so an edited checkout never runs stale code.
// Plain JavaScript: it runs before TypeScript can be loaded. `node cli/source-stamp.js --write`
// (the last step of `npm run build`) records the fingerprint in dist/source-stamp.json.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directories tsconfig.build.json compiles (and index.ts), relative to the package root. */
const sourceDirs = [
  'activities',
  'audit',
  'cli',
  'client',
  'infra',
  'lib',
  'pipelines',
  'serving',
  'worker',
  'workflows',
];

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const stampPath = join(packageRoot, 'dist', 'source-stamp.json');

/**
 * sha256 over every compiled source's path, size and modification time (test files excluded, as the
 * build does). Stats, not contents: checking costs a few milliseconds on each `sluice` call. A
 * checkout that touches files without changing them only makes bin.js fall back to tsx until the
 * next `npm run build`.
 */
export function sourceFingerprint(root = packageRoot) {
  const files = ['index.ts'];
  for (const dir of sourceDirs) collect(join(root, dir), root, files);
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const { size, mtimeMs } = statSync(join(root, file));
    hash.update(`${file}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/**
 * @param {string} dir
 * @param {string} root
 * @param {string[]} into
 */
function collect(dir, root, into) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) collect(path, root, into);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      into.push(relative(root, path));
    }
  }
}

/** True when dist/ was built from exactly the sources on disk now. */
export function distIsCurrent(root = packageRoot) {
  /** @type {{ sources?: string }} */
  let recorded;
  try {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- plain JS: JSON.parse is untyped here
    recorded = /** @type {{ sources?: string }} */ (
      JSON.parse(readFileSync(join(root, 'dist', 'source-stamp.json'), 'utf8'))
    );
  } catch {
    return false; // never built, or the build did not finish
  }
  return recorded.sources === sourceFingerprint(root);
}

/** Record that dist/ under `root` was built from the sources on disk now (the build's last step). */
export function writeStamp(root = packageRoot) {
  const path = join(root, 'dist', 'source-stamp.json');
  writeFileSync(path, `${JSON.stringify({ sources: sourceFingerprint(root) }, null, 2)}\n`);
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--write') {
  console.log(`wrote ${relative(packageRoot, writeStamp())}`);
}
