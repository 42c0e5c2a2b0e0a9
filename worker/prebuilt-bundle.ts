import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { packageRoot } from '../lib/package-info.js';

/**
 * The workflow bundle `npm run build` writes to dist/, so a worker (and `sluice audit replay`) starts
 * without bundling `workflows/` with webpack each time. It is used only while the workflow sources
 * still hash to what the build recorded; otherwise the caller bundles as before.
 */
export interface PrebuiltBundleRecord {
  /** sha256 of the workflow sources (workflows/ and pipelines/, TypeScript) and @temporalio/worker's version. */
  sources: string;
  /** The same hash over the compiled JavaScript in dist/ (images that ship dist/ without sources). */
  compiled: string;
  /** sha256 of the bundle's code (what Temporal's default build id carries). */
  code: string;
}

/** The directories whose code the workflow bundle holds (workflows import only pure pipelines/ code). */
const workflowSourceDirs = ['workflows', 'pipelines'];

export const bundleFile = 'workflow-bundle.js';
export const recordFile = 'workflow-bundle.json';

/** sha256 over the workflow sources under `root` with extension `ext`, and the bundler's version. */
export function workflowSourcesHash(root: string, ext: '.ts' | '.js'): string {
  const files: string[] = [];
  for (const dir of workflowSourceDirs) collect(join(root, dir), root, ext, files);
  files.sort();
  const hash = createHash('sha256').update(`@temporalio/worker@${workerVersion()}\n`);
  for (const file of files)
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(root, file)))
      .update('\0');
  return hash.digest('hex');
}

function collect(dir: string, root: string, ext: string, into: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) collect(path, root, ext, into);
    else if (entry.name.endsWith(ext) && !entry.name.endsWith(`.test${ext}`)) into.push(relative(root, path));
  }
}

function workerVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('@temporalio/worker/package.json') as { version: string }).version;
}

export type PrebuiltBundle = { code: string; sha256: string } | { reason: string };

/**
 * The prebuilt bundle if it matches the workflow sources on disk now, else why not (for the log:
 * "bundling workflows/ now because …").
 */
export function loadPrebuiltBundle(root = packageRoot()): PrebuiltBundle {
  const dist = join(root, 'dist');
  const recordPath = join(dist, recordFile);
  if (!existsSync(recordPath) || !existsSync(join(dist, bundleFile))) {
    return { reason: `there is no prebuilt bundle in ${dist} (npm run build writes one)` };
  }
  const record = JSON.parse(readFileSync(recordPath, 'utf8')) as PrebuiltBundleRecord;
  const fromSources = existsSync(join(root, 'workflows', 'index.ts'));
  const current = fromSources ? workflowSourcesHash(root, '.ts') : workflowSourcesHash(dist, '.js');
  if (current !== (fromSources ? record.sources : record.compiled)) {
    return {
      reason: `workflows/ or pipelines/ changed since the bundle in ${dist} was built (npm run build refreshes it)`,
    };
  }
  const code = readFileSync(join(dist, bundleFile), 'utf8');
  return { code, sha256: createHash('sha256').update(code).digest('hex') };
}

/** Bundle `workflows/` (TypeScript sources) into dist/ with its record; the build's last step. */
export async function writePrebuiltBundle(root = packageRoot()): Promise<PrebuiltBundleRecord> {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const noop = () => undefined;
  const silent = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(root, 'workflows', 'index.ts'),
    logger: silent,
  });
  const dist = join(root, 'dist');
  const record: PrebuiltBundleRecord = {
    sources: workflowSourcesHash(root, '.ts'),
    compiled: workflowSourcesHash(dist, '.js'),
    code: createHash('sha256').update(code).digest('hex'),
  };
  await mkdir(dist, { recursive: true });
  await writeFile(join(dist, bundleFile), code);
  await writeFile(join(dist, recordFile), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}
