import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '../pipelines/errors.js';

/**
 * Resolve a data source (`path`, or `file://` URI) to a real file inside the allowed roots. Relative
 * paths resolve against the first root. The check runs twice: on the path as written (so `../` and
 * absolute paths elsewhere are refused before the filesystem is even asked whether they exist), and on
 * the real path with every symlink followed (so a link that leads out of the roots is refused too).
 *
 * @throws InvalidInputError naming the source, where it led, and the fix.
 */
export async function resolveSource(uri: string, roots: readonly string[]): Promise<string> {
  if (uri.trim() === '') throw new InvalidInputError('the data source is empty: give a path to a file');
  if (uri.length > maxSourceLength) {
    throw new InvalidInputError(
      `source ${JSON.stringify(`${uri.slice(0, 80)}…`)} is ${uri.length} characters long, longer than any path ` +
        `(${maxSourceLength}): give a path to a file`,
    );
  }
  refuseControl(uri, uri);
  const path = toPath(uri, roots);
  // A file:// URI may smuggle them in percent-encoded (`%00`, `%0a`).
  refuseControl(uri, path);
  const lexicalRoots = roots.map((root) => resolve(root));
  const realRoots = await Promise.all(roots.map((root) => realpath(root).catch(() => resolve(root))));
  if (![...lexicalRoots, ...realRoots].some((root) => inside(path, root))) {
    throw outsideRoots(uri, path, lexicalRoots);
  }

  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InvalidInputError(`source ${uri} does not exist (looked at ${path}): check the path`, {
        details: { source: uri, path },
      });
    }
    throw new InvalidInputError(
      `source ${uri} cannot be resolved (${code ?? (error as Error).message}): check its permissions and links`,
      { cause: error, details: { source: uri, path } },
    );
  }
  if (!realRoots.some((root) => inside(real, root))) throw outsideRoots(uri, real, realRoots);

  const info = await stat(real);
  if (!info.isFile()) {
    throw new InvalidInputError(`source ${uri} is not a regular file (${real}): give a path to a file`, {
      details: { source: uri, path: real },
    });
  }
  return real;
}

/** Longest source accepted: Linux's PATH_MAX; longer is never a real file, only a huge message. */
const maxSourceLength = 4096;

/**
 * A NUL truncates paths in C libraries (DuckDB) and a newline or other control character breaks the
 * one-line messages and logs that name the source: no real data file needs either.
 */
function refuseControl(uri: string, text: string): void {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is looked for
  const control = /[\u0000-\u001f\u007f]/.exec(text);
  if (!control) return;
  const code = control[0].charCodeAt(0);
  const what =
    code === 0 ? 'a NUL byte' : `a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
  throw new InvalidInputError(`source ${JSON.stringify(uri)} contains ${what}: give a plain file path`);
}

function toPath(uri: string, roots: readonly string[]): string {
  if (uri.startsWith('file:')) {
    try {
      return fileURLToPath(uri);
    } catch {
      throw new InvalidInputError(
        `source ${uri} is not a valid file:// URI: use file:///absolute/path or a plain path`,
      );
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new InvalidInputError(
      `source ${uri} uses an unsupported scheme: give a local path or a file:// URI`,
    );
  }
  return isAbsolute(uri) ? resolve(uri) : resolve(roots[0] ?? process.cwd(), uri);
}

function outsideRoots(uri: string, resolved: string, roots: readonly string[]): InvalidInputError {
  return new InvalidInputError(
    `source ${uri} resolves to ${resolved}, outside the allowed data roots (${roots.join(', ') || 'none'}): ` +
      'move the file under one of them or add its directory to SLUICE_DATA_ROOTS',
    { details: { source: uri, resolved, roots } },
  );
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
