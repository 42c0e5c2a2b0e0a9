import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { sha256File } from '../../lib/hash.js';
import type { IngestResult } from '../../activities/ingest/index.js';
import { RunFailedError, followRun, startRun } from '../../client/runs.js';
import { definePipeline } from '../../pipelines/define.js';
import { resolveRunParams } from '../../pipelines/params.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { RunningWorker } from '../../worker/run.js';
import type { StepStatus } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { dataDir } from '../support/paths.js';
import { testConfig, testWorker } from '../support/worker.js';

let config: SluiceConfig;
let env: Record<string, string>;
let worker: RunningWorker;
let client: Client;

beforeAll(async () => {
  ({ config, env } = await testConfig());
  worker = await testWorker(config);
  client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
});

afterAll(async () => {
  await client?.connection.close();
  await worker?.shutdown();
});

/** Ingest a dataset, then hand its ref to the next step: data moves by reference (decision 2). */
const ingestThenSummarise = definePipeline({
  id: 'ingest-then-summarise',
  params: {
    source: { type: 'string', default: 'node_modules/vega-datasets/data/flights-200k.arrow' },
  },
  steps: [
    {
      id: 'ingest',
      activity: 'ingestDataset',
      params: {
        source: { $param: 'source' },
        sql: 'SELECT delay, distance, time FROM source WHERE distance > 0',
      },
    },
    { id: 'summarize', activity: 'writeRunSummary', needs: ['ingest'] },
  ],
});

async function artifactFiles(): Promise<string[]> {
  const entries = await readdir(join(config.home, 'artifacts'), {
    recursive: true,
    withFileTypes: true,
  }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('ingestDataset on a real Temporal server', () => {
  it('ingests the 200k Arrow flights and passes a verified Parquet ref to the next step', async () => {
    const handle = await startRun(client, config, ingestThenSummarise, {
      runParams: resolveRunParams(ingestThenSummarise, {}),
    });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('succeeded');
    const [ingest, summarize] = status.steps as [StepStatus, StepStatus];
    const output = ingest.output as unknown as IngestResult;

    expect(output.dataset).toMatchObject({ kind: 'dataset', format: 'parquet', rows: 200_000 });
    expect(output.dataset.schema).toEqual([
      { name: 'delay', type: 'SMALLINT' },
      { name: 'distance', type: 'SMALLINT' },
      { name: 'time', type: 'FLOAT' },
    ]);
    expect(output.source).toMatchObject({
      format: 'arrow',
      ...(await sha256File(join(dataDir, 'flights-200k.arrow'))),
    });

    // The snapshot is in this worker's store, verifies, and names the run and step that made it.
    const store = createArtifactStore(config.home);
    const path = await store.open(output.dataset);
    expect(output.dataset.uri).toBe(`sluice://sha256/${output.dataset.sha256}`);
    expect((await sha256File(path)).sha256).toBe(output.dataset.sha256);
    const sidecar = await store.describe(output.dataset);
    expect(sidecar.producer).toMatchObject({ workflowId: handle.workflowId, step: 'ingest' });
    expect(sidecar.producer?.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sidecar).toMatchObject({ rows: 200_000, kind: 'dataset' });

    // The next step received the ref, not the rows.
    const summary = JSON.parse(await readFile((summarize.output as { path: string }).path, 'utf8')) as {
      inputs: { ingest: IngestResult };
    };
    expect(summary.inputs.ingest.dataset).toEqual(output.dataset);

    // A rerun with the same data stores nothing new: same ref, same single file.
    const before = await artifactFiles();
    const again = await followRun(
      await startRun(client, config, ingestThenSummarise, {
        runParams: resolveRunParams(ingestThenSummarise, {}),
      }),
      () => undefined,
    );
    expect((again.steps[0]?.output as unknown as IngestResult).dataset).toEqual(output.dataset);
    expect(await artifactFiles()).toEqual(before);
  });

  it('fails bad input once, without retrying, says why, and stores nothing', async () => {
    const before = await artifactFiles();
    const handle = await startRun(client, config, ingestThenSummarise, {
      runParams: resolveRunParams(ingestThenSummarise, {
        source: 'node_modules/vega-datasets/data/unemployment.tsv',
      }),
    });
    const failure = await followRun(handle, () => undefined).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RunFailedError);
    // unemployment.tsv has no "delay" column: the transform is refused before anything is written.
    expect((failure as Error).message).toMatch(
      /step "ingest" failed: the sql transform for source .*unemployment\.tsv fails/,
    );
    const history = await handle.fetchHistory();
    expect(history.events?.filter((e) => e.activityTaskStartedEventAttributes)).toHaveLength(1);
    expect(await artifactFiles()).toEqual(before);
  });
});

describe('sluice ingest', () => {
  it('--json prints one document with the ref, the source hash and the warnings', async () => {
    const result = await sluice(
      ['ingest', 'node_modules/vega-datasets/data/seattle-weather.csv', '--json'],
      env,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as IngestResult & { elapsedMs: number };
    expect(doc.dataset).toMatchObject({ kind: 'dataset', format: 'parquet', rows: 1461 });
    expect(doc.source).toMatchObject({
      format: 'csv',
      ...(await sha256File(join(dataDir, 'seattle-weather.csv'))),
    });
    expect(doc.warnings).toEqual([]);
    await createArtifactStore(config.home).verify(doc.dataset);
  });

  it('prints a human summary, with a transform and flags', async () => {
    const result = await sluice(
      [
        'ingest',
        'node_modules/vega-datasets/data/unemployment.tsv',
        '--delimiter',
        '\\t',
        '--type',
        'id=VARCHAR',
        '--sql',
        'SELECT id, rate * 100 AS percent FROM source',
      ],
      env,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ingested .*unemployment\.tsv \(tsv, \d+ bytes\)/);
    expect(result.stdout).toMatch(/^rows +3218$/m);
    expect(result.stdout).toMatch(/^columns +2: id VARCHAR, percent DOUBLE$/m);
    expect(result.stdout).toMatch(/^artifact +sluice:\/\/sha256\/[0-9a-f]{64}$/m);
    expect(result.stdout).toMatch(
      new RegExp(`^file +${config.home}/artifacts/[0-9a-f]{2}/[0-9a-f]{64}\\.parquet$`, 'm'),
    );
  });

  it('refuses bad input with one line on stderr and exit 1', async () => {
    const outside = await sluice(['ingest', '/etc/passwd', '--json'], env);
    expect(outside.code).toBe(1);
    expect(outside.stdout).toBe('');
    expect(outside.stderr).toMatch(
      /^sluice: source \/etc\/passwd resolves to \/etc\/passwd, outside the allowed data roots .*\n$/,
    );
    const hashed = await sluice(
      ['ingest', 'node_modules/vega-datasets/data/seattle-weather.csv', '--pii', 'weather=hash'],
      env,
    );
    expect(hashed.code).toBe(1);
    expect(hashed.stderr).toMatch(/^sluice: SLUICE_PII_KEY is not set, and column "weather" must be hashed/);
  });
});
