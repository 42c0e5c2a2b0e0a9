import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { loadPrebuiltBundle } from '../worker/prebuilt-bundle.js';
import { workflowsPath } from '../worker/run.js';

/** The workflow code Sluice runs today, and its sha256 (the hash an export records). */
export interface CurrentWorkflowCode {
  bundle: WorkflowBundleWithSourceMap;
  sha256: string;
}

let pending: Promise<CurrentWorkflowCode> | undefined;

/**
 * Bundle `workflows/` exactly as a worker does, once per process. Its sha256 is what Temporal's
 * default worker build id carries (`@temporalio/worker@<version>+<sha256>`), so an export's bundle hash
 * can be compared with the build ids recorded in a history's workflow tasks.
 */
export function currentWorkflowCode(): Promise<CurrentWorkflowCode> {
  pending ??= prebuiltOrBundle();
  return pending;
}

/** The bundle `npm run build` wrote when it matches the workflow sources (as the worker uses), else a fresh one. */
async function prebuiltOrBundle(): Promise<CurrentWorkflowCode> {
  const prebuilt = loadPrebuiltBundle();
  // Source maps are inline in the code; the separate field is deprecated and unused.
  if ('code' in prebuilt) {
    return { bundle: { code: prebuilt.code, sourceMap: '' }, sha256: prebuilt.sha256 };
  }
  const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: silent });
  return { bundle, sha256: createHash('sha256').update(bundle.code).digest('hex') };
}

/**
 * The workflow types Sluice runs: the functions `workflows/index.ts` exports (the bundle's entry). A
 * history of any other type cannot be replayed here, and is refused before a replay worker starts.
 */
export async function workflowTypes(): Promise<string[]> {
  const entry = (await import(pathToFileURL(workflowsPath()).href)) as Record<string, unknown>;
  return Object.keys(entry)
    .filter((name) => typeof entry[name] === 'function')
    .sort();
}

const noop = () => undefined;
const silent = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
