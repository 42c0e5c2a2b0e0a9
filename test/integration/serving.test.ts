import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promoteModel } from '../../client/registry.js';
import { readLabeledPredictions } from '../../lib/feedback-log.js';
import { createToken } from '../../serving/tokens.js';
import type { ServingServer } from '../../serving/server.js';
import { useTestWorker } from '../support/worker.js';
import { lifecycleRoles } from './fixtures/lifecycle.js';
import { flightRows, startTestServer, tamperWeights, trainAndRegister } from './fixtures/serving.js';

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles })),
);

const MODEL = 'delay-serve';
let feedbackAuth: Record<string, string> = {};
let rows: Record<string, unknown>[] = [];
let secondRun = '';
const servers: ServingServer[] = [];

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

type Labelled = { label: string; probabilities: Record<string, number> };
const message = (body: Record<string, unknown>) => (body['error'] as { message: string }).message;

beforeAll(async () => {
  const first = await trainAndRegister(t.client, t.config, 'serve-v1', MODEL, 1);
  await promoteModel(t.client, MODEL, {
    version: 1,
    by: 'dana',
    reason: 'first model',
    authorisedBy: 'approved-run',
    approvedRun: first,
  });
  secondRun = await trainAndRegister(t.client, t.config, 'serve-v2', MODEL, 7);
  rows = await flightRows(40);
  const { token } = await createToken(t.config.serve.tokensFile, {
    identity: 'label-service',
    roles: ['feedback'],
    createdBy: 'test',
  });
  feedbackAuth = { authorization: `Bearer ${token}` };
}, 400_000);

afterAll(async () => {
  for (const s of servers) await s.close();
});

describe('sluice serve on a registered flights model', () => {
  it('answers real flights rows with probabilities from the production version, and logs them with feedback', async () => {
    const { server, url } = await startTestServer(t.client, t.config, [{ model: MODEL }], {
      bodyLimit: 8192,
    });
    servers.push(server);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const answer = await post(`${url}/v1/models/${MODEL}:predict`, { instances: rows.slice(0, 20) });
    expect(answer.status).toBe(200);
    expect(answer.body['version']).toBe(1);
    const predictions = answer.body['predictions'] as Labelled[];
    expect(predictions).toHaveLength(20);
    for (const p of predictions) {
      expect(Object.keys(p.probabilities)).toEqual(['0', '1']);
      const late = p.probabilities['1'] ?? -1;
      expect(late).toBeGreaterThan(0);
      expect(late).toBeLessThan(1);
      expect(p.probabilities['0']).toBeCloseTo(1 - late, 6);
      expect(p.label).toBe(late >= 0.5 ? '1' : '0');
    }
    expect(new Set(predictions.map((p) => p.probabilities['1']?.toFixed(6))).size).toBeGreaterThan(1);

    const info = (await (await fetch(`${url}/v1/models/${MODEL}`)).json()) as Record<string, unknown>;
    expect(info['aliases']).toMatchObject({ production: 1, candidate: 2 });
    expect(info['traffic']).toEqual({
      production: 100,
      canary: 0,
      shadow: false,
      candidate: null,
      source: 'registry',
    });
    expect(info['versions']).toHaveLength(2);
    // What a request sends: the source's columns, typed; hour is computed from date by the model.
    expect(info['request']).toEqual({
      columns: [
        { name: 'date', type: 'TIMESTAMP' },
        { name: 'distance', type: 'BIGINT' },
        { name: 'origin', type: 'VARCHAR' },
      ],
      derived: [{ name: 'hour', sql: 'hour(date)', reads: ['date'] }],
    });

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(
      `sluice_predict_requests_total{model="${MODEL}",version="1",role="production"} 1`,
    );
    expect(metrics).toMatch(
      /sluice_predict_latency_seconds_bucket\{le="[\d.]+",model="delay-serve",version="1"\}/,
    );

    const single = await post(
      `${url}/v1/models/${MODEL}:predict`,
      { instances: [rows[0]] },
      { 'x-request-id': 'req-42' },
    );
    expect(single.body['requestId']).toBe('req-42');
    expect((await post(`${url}/v1/feedback`, { requestId: 'req-42', label: 1 })).status).toBe(401);
    expect((await post(`${url}/v1/feedback`, { requestId: 'req-42', label: 1 }, feedbackAuth)).status).toBe(
      202,
    );
    await server.predictionLog.flush();
    const labeled = await readLabeledPredictions(t.config.serve.predictionLogDir, MODEL);
    expect(labeled).toHaveLength(21);
    const joined = labeled.find((r) => r.requestId === 'req-42');
    // The log holds the features the model computed from the request: hour from date.
    const first = rows[0] as { date: string; distance: number; origin: string };
    expect(joined).toMatchObject({
      version: 1,
      role: 'production',
      label: 1,
      features: { hour: Number(first.date.slice(11, 13)), distance: first.distance, origin: first.origin },
    });
    expect(joined?.score).toBeCloseTo(
      (single.body['predictions'] as Labelled[])[0]?.probabilities['1'] ?? -1,
      6,
    );
  });

  it('refuses bad requests with the status and a message naming the instance and feature', async () => {
    const { server, url } = await startTestServer(t.client, t.config, [{ model: MODEL }], {
      bodyLimit: 8192,
    });
    servers.push(server);
    const predict = `${url}/v1/models/${MODEL}:predict`;
    const [a, b] = rows as [Record<string, unknown>, Record<string, unknown>];

    const malformed = await post(predict, '{"instances": [');
    expect(malformed.status).toBe(400);
    expect(message(malformed.body)).toMatch(/not valid JSON/);
    const huge = await post(predict, { instances: Array.from({ length: 400 }, () => a) });
    expect(huge.status).toBe(413);
    expect(message(huge.body)).toMatch(/8192-byte limit/);
    const missing = await post(predict, { instances: [a, { date: b['date'], origin: b['origin'] }] });
    expect(missing.status).toBe(400);
    expect(message(missing.body)).toMatch(/instances\[1\] is missing column "distance"/);
    // The model computes hour from date: a request without date is refused naming both.
    const noDate = await post(predict, { instances: [{ distance: 1200, origin: 'ORD' }] });
    expect(noDate.status).toBe(400);
    expect(message(noDate.body)).toMatch(
      /instances\[0\] is missing column "date", which feature "hour" \(hour\(date\)\) needs/,
    );
    // …and a request sending the derived feature itself is refused, not scored as sent.
    const sendsHour = await post(predict, { instances: [{ ...a, hour: 3 }] });
    expect(sendsHour.status).toBe(400);
    expect(message(sendsHour.body)).toMatch(
      /instances\[0\] sends "hour", which the model computes itself as hour\(date\) from date/,
    );
    const badDate = await post(predict, { instances: [{ ...a, date: '14/01/2001' }] });
    expect(message(badDate.body)).toMatch(/instances\[0\]\.date must be a timestamp "YYYY-MM-DD HH:MM:SS"/);
    const extra = await post(predict, { instances: [{ ...a, carrier: 'AA' }] });
    expect(message(extra.body)).toMatch(/instances\[0\] has feature "carrier", which the model does not use/);
    const wrongType = await post(predict, { instances: [a, a, { ...b, distance: '1200' }] });
    expect(wrongType.status).toBe(400);
    expect(message(wrongType.body)).toMatch(/instances\[2\]\.distance must be an integer or null/);
    expect((await post(predict, { rows: [a] })).status).toBe(400);

    const unknownModel = await post(`${url}/v1/models/nope:predict`, { instances: [a] });
    expect(unknownModel.status).toBe(404);
    expect(message(unknownModel.body)).toMatch(/not served here.*sluice serve --model nope/);
    const unknownVersion = await post(`${url}/v1/models/${MODEL}/versions/9:predict`, { instances: [a] });
    expect(unknownVersion.status).toBe(404);
    expect(message(unknownVersion.body)).toMatch(/v9 is not loaded.*versions 1, 2/);
    expect((await post(`${url}/v1/feedback`, { requestId: 'x' }, feedbackAuth)).status).toBe(400);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /sluice_predict_errors_total\{model="delay-serve",version="1",code="INVALID_INSTANCES"\} 7/,
    );
  });

  it('refuses a version whose bytes no longer match its hash, keeps production answering, and loads it once repaired', async () => {
    const restore = await tamperWeights(t.client, t.config, MODEL, 2);
    const { server, url } = await startTestServer(t.client, t.config, [{ model: MODEL, canaryPercent: 50 }]);
    servers.push(server);
    try {
      const info = server.pool.describe(MODEL);
      expect(info['loaded']).toMatchObject({ production: { version: 1 }, candidate: null });
      expect(JSON.stringify(info['refused'])).toMatch(/now hashes to [0-9a-f]{64}.*refused/);
      const alerts = await readFile(join(t.config.home, 'serve.log'), 'utf8');
      expect(alerts).toMatch(/"alert":"model-refused".*"version":2/);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain(
        `sluice_model_load_failures_total{model="${MODEL}",version="2",reason="integrity"} 1`,
      );
      for (let i = 0; i < 10; i++) {
        const r = await post(`${url}/v1/models/${MODEL}:predict`, { instances: [rows[i]] });
        expect(r.body['version']).toBe(1);
      }
    } finally {
      await restore();
    }
    await server.pool.refresh(MODEL);
    expect(server.pool.describe(MODEL)['traffic']).toEqual({
      production: 50,
      canary: 50,
      shadow: false,
      candidate: 2,
      source: 'override',
    });
    const versions = new Set<unknown>();
    for (let i = 0; i < 40; i++) {
      versions.add(
        (await post(`${url}/v1/models/${MODEL}:predict`, { instances: [rows[i % rows.length]] })).body[
          'version'
        ],
      );
    }
    expect([...versions].sort()).toEqual([1, 2]);
  });

  it('swaps production under concurrent load without a single failed request', async () => {
    const { server, url } = await startTestServer(t.client, t.config, [{ model: MODEL, shadow: true }]);
    servers.push(server);
    const statuses = new Map<number, number>();
    const versions: number[] = [];
    let stop = false;
    const client = async (k: number) => {
      for (let i = k; !stop; i++) {
        const r = await post(`${url}/v1/models/${MODEL}:predict`, { instances: [rows[i % rows.length]] });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        versions.push(r.body['version'] as number);
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, k) => client(k)));
    await new Promise((r) => setTimeout(r, 500));
    await promoteModel(t.client, MODEL, {
      version: 2,
      by: 'dana',
      reason: 'better model',
      authorisedBy: 'approved-run',
      approvedRun: secondRun,
    });
    await server.pool.refresh(MODEL);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await load;
    expect([...statuses.keys()]).toEqual([200]);
    expect(versions[0]).toBe(1);
    expect(versions.at(-1)).toBe(2);
    expect(versions.indexOf(2)).toBeGreaterThan(versions.lastIndexOf(1) - 16); // no flapping back
    expect(server.pool.describe(MODEL)['loaded']).toMatchObject({
      production: { version: 2 },
      candidate: null,
    });
  });

  it('keeps answering when the prediction log cannot be written, and counts the loss', async () => {
    const blocked = join(t.config.home, 'not-a-directory');
    await writeFile(blocked, 'a file where the log directory should be');
    const { server, url } = await startTestServer(t.client, t.config, [{ model: MODEL }], {
      logDir: blocked,
    });
    servers.push(server);
    for (let i = 0; i < 5; i++) {
      expect((await post(`${url}/v1/models/${MODEL}:predict`, { instances: [rows[i]] })).status).toBe(200);
    }
    await server.predictionLog.flush();
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(
      `sluice_prediction_log_rows_dropped_total{model="${MODEL}",reason="write-failed"} 5`,
    );
    expect((await post(`${url}/v1/models/${MODEL}:predict`, { instances: [rows[0]] })).status).toBe(200);
  });
});
