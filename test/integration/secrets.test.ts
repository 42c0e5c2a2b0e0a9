import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRun } from '../../client/runs.js';
import { definePipeline } from '../../pipelines/define.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { RunningWorker } from '../../worker/run.js';
import { sluice } from '../support/cli.js';
import { testConfig, testWorker } from '../support/worker.js';

/**
 * The worker holds secrets (the PII HMAC key, an alert webhook with a token in it). A run that uses
 * the key, and one that fails inside the very query that uses it, leave no trace of either secret in
 * their histories, in an audit export or in the worker's log.
 */
const piiKey = `pii-${randomBytes(24).toString('hex')}`;
const webhookToken = randomBytes(16).toString('hex');
let config: SluiceConfig;
let env: Record<string, string>;
let worker: RunningWorker;
let client: Client;

beforeAll(async () => {
  ({ config, env } = await testConfig({
    SLUICE_PII_KEY: piiKey,
    SLUICE_ALERT_WEBHOOK: `http://127.0.0.1:9/alerts?token=${webhookToken}`,
    SLUICE_LOG_LEVEL: 'debug',
  }));
  worker = await testWorker(config);
  client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
});

afterAll(async () => {
  await client?.connection.close();
  await worker?.shutdown();
});

const ingest = (id: string, sql?: string) =>
  definePipeline({
    id,
    steps: [
      {
        id: 'ingest',
        activity: 'ingestDataset',
        retry: { maxAttempts: 1 },
        params: {
          source: 'node_modules/vega-datasets/data/seattle-weather.csv',
          pii: { weather: 'hash' },
          ...(sql ? { sql } : {}),
        },
      },
      { id: 'summarize', activity: 'writeRunSummary', needs: ['ingest'] },
    ],
  });

describe('secrets stay out of histories, exports and logs', () => {
  it('a run hashing PII with the key, and one failing in the same query, show neither secret anywhere', async () => {
    const good = await startRun(client, config, ingest('secret-ok'), { runParams: {} });
    await good.result();
    const bad = await startRun(
      client,
      config,
      ingest('secret-bad', 'SELECT weather, no_such_column FROM source'),
      {
        runParams: {},
      },
    );
    const failure = await bad.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);

    const histories = JSON.stringify([await good.fetchHistory(), await bad.fetchHistory()]);
    expect(histories).toContain('no_such_column');
    expect(histories).toContain('weather');
    const exportDir = join(config.home, 'export');
    const exported = await sluice(
      [
        'audit',
        'export',
        '--query',
        'SluicePipeline IN ("secret-ok", "secret-bad")',
        '--out',
        exportDir,
        '--json',
      ],
      env,
      120_000,
    );
    expect(exported.stderr).toBe('');
    const files = await readdir(exportDir, { recursive: true });
    const exportText = (
      await Promise.all(
        files.filter((f) => f.endsWith('.json')).map((f) => readFile(join(exportDir, f), 'utf8')),
      )
    ).join('\n');
    expect(exportText.length).toBeGreaterThan(1000);
    const workerLog = await readFile(join(config.home, 'worker.log'), 'utf8');
    for (const secret of [piiKey, webhookToken]) {
      expect(histories).not.toContain(secret);
      expect(exportText).not.toContain(secret);
      expect(workerLog).not.toContain(secret);
    }
  });
});
