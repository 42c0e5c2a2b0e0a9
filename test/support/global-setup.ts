import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startScratchDevServer, type DevServer } from '../../infra/temporal/dev-server.js';
import { loadConfig } from '../../lib/config.js';
import { loadPrebuiltBundle } from '../../worker/prebuilt-bundle.js';
import { workflowsPath } from '../../worker/run.js';
import { freePort, projectRoot } from './paths.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The shared server's HTTP API: control commands' read path (client/reads.ts). */
    temporalHttpAddress: string;
    temporalCliPath: string;
    workflowBundlePath: string;
  }
}

let server: DevServer | undefined;

/**
 * ONE real Temporal dev server for the integration run, found or built by the same provisioning code
 * `sluice dev` uses, plus the workflow bundle built once (each test file's worker reuses it).
 */
export async function setup(project: TestProject): Promise<void> {
  const config = loadConfig(process.env, projectRoot);
  const address = `127.0.0.1:${await freePort()}`;
  const logDir = join(projectRoot, '.sluice', 'test');
  const started = await startScratchDevServer(config, {
    address,
    logFile: join(logDir, 'temporal.log'),
    cacheDir: join(projectRoot, '.sluice', 'bin'),
    httpPort: await freePort(),
    onProgress: (line) => console.log(`[test setup] ${line}`),
  });
  server = started.server;
  const { cli } = started;
  // The bundle `npm run build` wrote, as a worker uses it, when it matches the sources; else bundle now.
  const prebuilt = loadPrebuiltBundle();
  if (!('code' in prebuilt)) console.log(`[test setup] bundling workflows/ now: ${prebuilt.reason}`);
  const { code } =
    'code' in prebuilt
      ? prebuilt
      : await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quietLogger });
  const bundlePath = join(logDir, 'workflow-bundle.js');
  await writeFile(bundlePath, code);
  project.provide('temporalAddress', address);
  project.provide('temporalHttpAddress', server.httpAddress ?? 'off');
  project.provide('temporalCliPath', cli.path);
  project.provide('workflowBundlePath', bundlePath);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

const noop = () => undefined;
const quietLogger = {
  log: noop,
  trace: noop,
  debug: noop,
  info: noop,
  warn: console.warn,
  error: console.error,
};
