#!/usr/bin/env node
// The `sluice` command. Runs the TypeScript sources through tsx, or the compiled `dist/` when present
// beside a build (container images run `node dist/cli/main.js` directly).
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
