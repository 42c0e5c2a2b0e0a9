/* global process, URL */
// `node --import ./test/support/module-trace.js …`: appends every module the process loads (ES modules
// as resolved URLs, CommonJS requires as resolved file names) to the file named by
// SLUICE_MODULE_TRACE, one per line. Tests use it to check which dependencies a command pulls in.
import Module, { register } from 'node:module';
import { appendFileSync } from 'node:fs';

const out = process.env['SLUICE_MODULE_TRACE'];
if (out) {
  register(new URL('./module-trace-hooks.js', import.meta.url), { data: { out } });
  /** @type {{ _resolveFilename: (request: string, ...rest: unknown[]) => string }} */
  const cjs = /** @type {never} */ (Module);
  const resolveFilename = cjs._resolveFilename;
  cjs._resolveFilename = function (request, ...rest) {
    const file = resolveFilename.call(this, request, ...rest);
    appendFileSync(out, `${file}\n`);
    return file;
  };
}
