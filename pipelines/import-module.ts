import { pathToFileURL } from 'node:url';

/**
 * Import a module file given by the user (a pipeline file, a step module). From the compiled CLI
 * (dist/), Node cannot load TypeScript by itself, so a `.ts` file is loaded through tsx, registered on
 * first need only (the CLI starts without it). The retry asks for a fresh URL: Node keeps a failed
 * import in its module map, so importing the same URL again would fail the same way.
 */
export async function importModuleFile(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    const { register } = await import('tsx/esm/api');
    register();
    return (await import(`${url}?tsx`)) as Record<string, unknown>;
  }
}
