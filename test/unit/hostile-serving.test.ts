import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { selectTfBackend } from '../../activities/tf-backend.js';
import { trainModelStep, type TrainModelOutput } from '../../activities/train/train-model.js';
import type { RegistryDescription } from '../../pipelines/registry.js';
import type { StepInput } from '../../pipelines/step.js';
import { guardFromConfig } from '../../serving/guard.js';
import { createServingServer, type ServingServer } from '../../serving/server.js';
import { loadConfig } from '../../lib/config.js';
import { dataDir, projectRoot } from '../support/paths.js';

/**
 * Hostile predict requests (test/fixtures/hostile/README.md) against a real server (Fastify, driven by
 * `inject`) serving a real model trained here on the penguins: bodies over the size limit, too many
 * instances, wrong types, deep and prototype-polluting JSON. Each gets a 4xx naming the problem, and
 * after each one a good request is still answered.
 */

const MODEL = 'penguin';
const bodyLimit = 64 * 1024;
let home: string;
let server: ServingServer;

const good = {
  'Beak Length (mm)': 39.1,
  'Flipper Length (mm)': 181,
  Island: 'Torgersen',
};

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-hostile-serving-'));
  const env = new MockActivityEnvironment();
  const input: StepInput = {
    run: { pipeline: 'hostile', workflowId: 'wf-hostile', runId: 'run-1', trigger: 'manual' },
    step: 'train',
    params: {
      source: join(dataDir, 'penguins.json'),
      features: { numeric: ['Beak Length (mm)', 'Flipper Length (mm)'], categorical: ['Island'] },
      label: { sql: `"Species" = 'Adelie'`, task: 'binary' },
      split: {
        kind: 'hash',
        key: `concat_ws('|', Species, Island, "Beak Length (mm)", "Body Mass (g)")`,
      },
      trainer: { model: 'logistic', epochs: 3 },
    },
    runParams: {},
    inputs: {},
  };
  const trained: TrainModelOutput = await env.run(trainModelStep, { home, dataRoots: [projectRoot] }, input);
  const registry: RegistryDescription = {
    model: MODEL,
    versions: [
      {
        version: 1,
        registeredAt: new Date(0).toISOString(),
        requestId: 'wf-hostile/train',
        runId: 'run-1',
        workflowId: 'wf-hostile',
        pipeline: 'hostile',
        dataSha256s: [],
        model: trained.model,
        metrics: {},
        approvals: [],
        registeredBy: 'test',
      },
    ],
    aliases: { production: 1, candidate: null, previous: null },
    eventCount: 1,
  };
  await selectTfBackend();
  const tf = await import('@tensorflow/tfjs');
  // The guard as `sluice serve` builds it from configuration (no tokens: predict is open).
  const config = loadConfig(
    { SLUICE_HOME: home, SLUICE_SERVE_BODY_LIMIT: String(bodyLimit), PATH: process.env['PATH'] ?? '' },
    projectRoot,
  );
  const log = pino({ level: 'silent' });
  server = await createServingServer({
    tf,
    store: createArtifactStore(home),
    registry: (model) => (model === MODEL ? Promise.resolve(registry) : Promise.reject(new Error('unknown'))),
    log,
    deployments: [{ model: MODEL }],
    bodyLimit: config.serve.bodyLimit,
    predictionLog: { dir: join(home, 'predictions'), flushIntervalMs: 200 },
    pollMs: 0,
    processMetrics: false,
    guard: await guardFromConfig(config.serve, log),
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(home, { recursive: true, force: true });
});

async function predict(payload: string | Buffer, contentType = 'application/json') {
  const response = await server.app.inject({
    method: 'POST',
    url: `/v1/models/${MODEL}:predict`,
    headers: { 'content-type': contentType },
    payload,
  });
  const body = response.json<{
    error?: { code: string; message: string };
    predictions?: { label: string; probabilities: Record<string, number> }[];
  }>();
  return { status: response.statusCode, body, message: body.error?.message ?? '' };
}

/** The server still answers a good request with a probability. */
async function stillServing(): Promise<void> {
  const answer = await predict(JSON.stringify({ instances: [good] }));
  expect(answer.status).toBe(200);
  expect(answer.body.predictions).toHaveLength(1);
  const [p] = answer.body.predictions ?? [];
  expect(p?.probabilities['1']).toBeGreaterThan(0);
  expect(p?.probabilities['1']).toBeLessThan(1);
}

describe('hostile predict requests get a clear 4xx and the server keeps answering', () => {
  it('a good request is answered (the baseline)', async () => {
    await stillServing();
  });

  it.each([
    ['just over the limit', bodyLimit + 1],
    ['5 MB', 5 * 1024 * 1024],
  ])('a body %s: 413 naming the limit and the fix', async (_name, bytes) => {
    const instances = Array.from({ length: Math.ceil(bytes / 80) }, () => good);
    const text = JSON.stringify({ instances }).padEnd(bytes, ' ');
    const answer = await predict(text.slice(0, Math.max(bytes, bodyLimit + 1)));
    expect(answer.status).toBe(413);
    expect(answer.message).toBe(
      `request body over the ${bodyLimit}-byte limit; send fewer instances per request (or raise SLUICE_SERVE_BODY_LIMIT)`,
    );
    await stillServing();
  });

  it.each<[string, string, number, RegExp]>([
    [
      '1 001 empty instances (within the byte limit)',
      JSON.stringify({ instances: Array.from({ length: 1001 }, () => ({})) }),
      400,
      /^1001 instances in one request; send at most 1000 per request$/,
    ],
    ['instances as a string', '{"instances":"all of them"}', 400, /"instances" must be a non-empty array/],
    ['an empty instances array', '{"instances":[]}', 400, /"instances" must be a non-empty array/],
    ['a bare array', '[1,2,3]', 400, /the body must be a JSON object: \{"instances"/],
    ['null', 'null', 400, /the body must be a JSON object/],
    [
      'an instance that is an array',
      '{"instances":[[39.1,181,"Torgersen"]]}',
      400,
      /instances\[0\] must be an object of features/,
    ],
    [
      'a feature that is an object',
      JSON.stringify({ instances: [good, { ...good, 'Beak Length (mm)': { value: 39 } }] }),
      400,
      /instances\[1\]\.Beak Length \(mm\) must be a finite number or null, not an object/,
    ],
    [
      'a number that overflows to Infinity',
      `{"instances":[{"Beak Length (mm)":1e400,"Flipper Length (mm)":181,"Island":"Torgersen"}]}`,
      400,
      /instances\[0\]\.Beak Length \(mm\) must be a finite number or null, not number Infinity/,
    ],
    [
      'a number as a string',
      JSON.stringify({ instances: [{ ...good, 'Flipper Length (mm)': '181' }] }),
      400,
      // The source column is BIGINT: serving reads it as DuckDB did in training, an integer.
      /instances\[0\]\.Flipper Length \(mm\) must be an integer or null, not the string "181" \(the source column is BIGINT\)/,
    ],
    [
      'a categorical value that is a list',
      JSON.stringify({ instances: [{ ...good, Island: ['Biscoe', 'Dream'] }] }),
      400,
      /instances\[0\]\.Island must be a string, number, boolean or null, not an array/,
    ],
    [
      'a feature named constructor',
      JSON.stringify({ instances: [{ ...good, constructor: 1 }] }),
      400,
      /instances\[0\] has feature "constructor", which the model does not use/,
    ],
    [
      'a feature named toString, missing the real ones',
      '{"instances":[{"toString":1}]}',
      400,
      /instances\[0\] has feature "toString", which the model does not use/,
    ],
    [
      'a __proto__ key (prototype pollution)',
      '{"instances":[{"__proto__":{"polluted":true},"Beak Length (mm)":1,"Flipper Length (mm)":1,"Island":"x"}]}',
      400,
      // Refused by Fastify's secure JSON parser, which does not say why: the wording calls it invalid JSON.
      /the body is not valid JSON/,
    ],
    [
      'a feature value nested 30 000 arrays deep',
      `{"instances":[{"Beak Length (mm)":${'['.repeat(30_000)}1${']'.repeat(30_000)},"Flipper Length (mm)":1,"Island":"x"}]}`,
      400,
      /instances\[0\]\.Beak Length \(mm\) must be a finite number or null, not an array/,
    ],
    [
      'a body nested 4 000 objects deep',
      `${'{"instances":'.repeat(4_000)}1${'}'.repeat(4_000)}`,
      400,
      /"instances" must be a non-empty array/,
    ],
    ['a cut-off body', '{"instances":[{"Beak', 400, /the body is not valid JSON .*send \{"instances"/],
    ['a body of NUL bytes', '\0'.repeat(1000), 400, /the body is not valid JSON/],
  ])('%s', async (_name, payload, status, message) => {
    const answer = await predict(payload);
    expect(answer.status).toBe(status);
    expect(answer.message).toMatch(message);
    expect(answer.message.length).toBeLessThan(500);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    await stillServing();
  });

  it('binary garbage sent as JSON, JSON sent as text/plain or XML', async () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 197 + 13) % 256));
    const bad = await predict(garbage);
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/the body is not valid JSON/);
    const plain = await predict(JSON.stringify({ instances: [good] }), 'text/plain');
    expect(plain.status).toBe(415);
    expect(plain.message).toBe('send the body as JSON with Content-Type: application/json');
    const xml = await predict('<instances/>', 'application/xml');
    expect(xml.status).toBe(415);
    expect(xml.message).toBe('send the body as JSON with Content-Type: application/json');
    await stillServing();
  });

  it('a model name that climbs paths is just an unknown model', async () => {
    const response = await server.app.inject({
      method: 'POST',
      url: '/v1/models/..%2F..%2Fetc%2Fpasswd:predict',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ instances: [good] }),
    });
    expect(response.statusCode).toBe(404);
    expect(response.json<{ error: { message: string } }>().error.message).toMatch(/not served here/);
    await stillServing();
  });
});
