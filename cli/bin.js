#!/usr/bin/env node
/* global URL */
// The `sluice` command. Runs the compiled dist/cli/main.js when `npm run build` (run by `npm ci`)
// made it from exactly the sources on disk (dist/source-stamp.json); otherwise — never built, or a
// source edited since — runs the TypeScript sources through tsx, silently: same behaviour, slower
// start. `npm run build` brings the fast path back. Container images run `node dist/cli/main.js`.
import { existsSync } from 'node:fs';
import { distIsCurrent, packageRoot } from './source-stamp.js';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(compiled) && distIsCurrent(packageRoot)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
