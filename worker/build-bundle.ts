/**
 * `npm run build`'s bundling step (run as `node dist/worker/build-bundle.js` after tsc): writes the
 * workflow bundle and its source hash to dist/ (worker/prebuilt-bundle.ts).
 */
import { relative } from 'node:path';
import { packageRoot } from '../lib/package-info.js';
import { bundleFile, writePrebuiltBundle } from './prebuilt-bundle.js';

const root = packageRoot();
const record = await writePrebuiltBundle(root);
console.log(
  `wrote ${relative(process.cwd(), `${root}/dist/${bundleFile}`) || bundleFile} (workflow sources ${record.sources.slice(0, 12)})`,
);
