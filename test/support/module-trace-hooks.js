// The ES module half of module-trace.js: runs on Node's loader thread and records each resolved URL.
import { appendFileSync } from 'node:fs';

/** @type {string} */
let out = '';

/** @param {{ out: string }} data */
export function initialize(data) {
  out = data.out;
}

/**
 * @param {string} specifier
 * @param {unknown} context
 * @param {(specifier: string, context: unknown) => Promise<{ url: string }>} next
 */
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(out, `${result.url}\n`);
  return result;
}
