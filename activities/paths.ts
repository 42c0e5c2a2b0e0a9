import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '../pipelines/errors.js';

/**
 * Resolve a data source (`path`, or `file://` URI) to a real file inside the allowed roots. Relative
 * paths resolve against the first root. Symlinks are followed before the check, so a link that leads
 * out of the roots is refused like `../` or an absolute path elsewhere.
 *
 * @throws InvalidInputError naming the source, where it led, and the fix.
 */
export async function resolveSource(uri: string, roots: readonly string[]): Promise<string> {
  if (uri.trim() === '') throw new InvalidInputError('the data source is empty: give a path to a file');
  let path: string;
  if (uri.startsWith('file:')) {
    try {
      path = fileURLToPath(uri);
    } catch {
      throw new InvalidInputError(`source ${uri} is not a valid file:// URI`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new InvalidInputError(
      `source ${uri} uses an unsupported scheme: give a local path or a file:// URI`,
    );
  } else {
    path = isAbsolute(uri) ? uri : resolve(roots[0] ?? process.cwd(), uri);
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InvalidInputError(`source ${uri} does not exist (looked at ${path}): check the path`);
    }
    throw error;
  }
  const realRoots = await Promise.all(roots.map((root) => realpath(root).catch(() => resolve(root))));
  if (!realRoots.some((root) => inside(real, root))) {
    throw new InvalidInputError(
      `source ${uri} resolves to ${real}, outside the allowed data roots (${realRoots.join(', ')}): ` +
        'move the file under one of them or add its directory to SLUICE_DATA_ROOTS',
      { details: { source: uri, resolved: real, roots: realRoots } },
    );
  }
  const info = await stat(real);
  if (!info.isFile())
    throw new InvalidInputError(`source ${uri} is not a regular file: give a path to a file`);
  return real;
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}
