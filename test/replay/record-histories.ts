/**
 * Record the histories `test/replay/` replays: `npx tsx test/replay/record-histories.ts`.
 * Runs each scenario on a fresh dev server with a real worker and writes the history in Temporal's
 * own JSON format, written by `temporal workflow show --output json` itself, to `test/histories/`.
 * Re-record only on purpose: a committed history is the evidence that old runs still replay.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { followRun, startRun } from '../../cli/runs.js';
import { locateTemporalCli } from '../../infra/temporal/cli-provision.js';
import { startDevServer } from '../../infra/temporal/dev-server.js';
import { definePipeline } from '../../pipelines/define.js';
import { firstDag } from '../../pipelines/first-dag.pipeline.js';
import { resolveRunParams } from '../../pipelines/params.js';
import type { PipelineSpec } from '../../pipelines/spec.js';
import { loadConfig } from '../../worker/config.js';
import { createLogger } from '../../worker/logging.js';
import { startWorker } from '../../worker/run.js';
import { freePort, projectRoot } from '../support/paths.js';

const scenarios: { name: string; spec: PipelineSpec; params: Record<string, string> }[] = [
  { name: 'first-dag-succeeded', spec: firstDag, params: {} },
  { name: 'first-dag-failed-missing-source', spec: firstDag, params: { source: 'no/such/file.csv' } },
  {
    name: 'diamond-parallel',
    spec: definePipeline({
      id: 'diamond',
      steps: [
        { id: 'a', activity: 'noop' },
        { id: 'b', activity: 'noop', needs: ['a'] },
        { id: 'c', activity: 'noop', needs: ['a'] },
        { id: 'd', activity: 'writeRunSummary', needs: ['b', 'c'] },
      ],
    }),
    params: {},
  },
];

const home = await mkdtemp(join(tmpdir(), 'sluice-record-'));
const address = `127.0.0.1:${await freePort()}`;
const config = loadConfig({ ...process.env, TEMPORAL_ADDRESS: address, SLUICE_HOME: home }, projectRoot);
const cli = await locateTemporalCli({
  envPath: config.temporal.cliPath,
  searchPath: config.searchPath,
  cacheDir: join(projectRoot, '.sluice', 'bin'),
});
if (cli.source === 'sdk-download') throw new Error('recording needs a local Temporal CLI binary');
const server = await startDevServer({
  cli,
  address,
  namespace: 'default',
  uiPort: false,
  logFile: join(home, 'temporal.log'),
});
const worker = await startWorker(config, createLogger(config, pino.destination(join(home, 'worker.log'))));
const client = new Client({ connection: await Connection.connect({ address }) });
try {
  for (const scenario of scenarios) {
    const handle = await startRun(client, config, scenario.spec, {
      runParams: resolveRunParams(scenario.spec, scenario.params),
      startedBy: 'recorder',
      workflowId: `replay-${scenario.name}`,
    });
    await followRun(handle, () => undefined).catch(() => undefined);
    const file = join(projectRoot, 'test', 'histories', `${scenario.name}.json`);
    const { stdout } = await promisify(execFile)(
      cli.path,
      ['workflow', 'show', '--workflow-id', handle.workflowId, '--address', address, '--output', 'json'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    await writeFile(file, stdout);
    console.log(`recorded ${file}`);
  }
} finally {
  await client.connection.close();
  await worker.shutdown();
  await server.stop();
}
