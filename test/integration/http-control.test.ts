import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeModel, modelHistory, registerModelVersion, registryTarget } from '../../client/registry.js';
import type { RegisterVersionInput } from '../../pipelines/registry.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { freePort } from '../support/paths.js';
import { useTestWorker } from '../support/worker.js';

/**
 * The state-changing HTTP routes of a real `sluice serve` process, against a real worker: bearer
 * tokens made by the real `sluice token` command, roles, separation of duties over HTTP, revocation
 * without a restart, and no token in the server's log or in any workflow history.
 */
const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: { risk: ['alice', 'bob'] } })),
);

const pipelineFile = 'test/integration/fixtures/event-approval.pipeline.ts';
let serve: LiveSluice;
let url = '';
let env: Record<string, string> = {};
const tokens: Record<string, { token: string; id: string }> = {};

async function call(path: string, body: unknown, who?: string) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(who ? { authorization: `Bearer ${tokens[who]?.token ?? who}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown> & {
    error?: { code: string; message: string };
  };
  return { status: response.status, headers: response.headers, body: json };
}

async function createToken(identity: string, roles: string[]) {
  const result = await sluice(
    ['token', 'create', '--identity', identity, ...roles.flatMap((r) => ['--role', r]), '--json'],
    env,
  );
  expect(result.stderr).toBe('');
  const doc = JSON.parse(result.stdout) as { token: string; id: string; identity: string; roles: string[] };
  expect(doc).toMatchObject({ identity, roles });
  tokens[identity] = { token: doc.token, id: doc.id };
}

beforeAll(async () => {
  const port = await freePort();
  env = { ...t.env, SLUICE_SERVE_PORT: String(port), SLUICE_LOG_LEVEL: 'debug' };
  url = `http://127.0.0.1:${port}`;
  serve = startSluice(['serve', '--pipeline', pipelineFile, '--poll', '0'], env);
  await serve.waitFor(/"msg":"serving"/);
});

afterAll(async () => {
  await serve?.stop('SIGTERM');
});

describe('HTTP control routes on sluice serve', () => {
  it('with no tokens configured, every state-changing route says how to create one; predict stays open', async () => {
    const event = await call('/v1/events', { pipeline: 'event-approval', event: 'drop', data: 'x.csv' });
    expect(event.status).toBe(401);
    expect(event.headers.get('www-authenticate')).toBe('Bearer realm="sluice", scope="trigger"');
    expect(event.body.error?.message).toMatch(
      /^a bearer token is needed to start a pipeline, and this server has none configured: create one with `sluice token create --identity <you> --role trigger`/,
    );
    expect((await call('/v1/feedback', { requestId: 'r', label: 1 })).status).toBe(401);
    expect((await call('/v1/runs/any/approvals', { decision: 'approve' })).status).toBe(401);
    expect((await call('/v1/models/m:promote', { version: 1, reason: 'r' })).status).toBe(401);
    expect((await call('/v1/models/m:predict', { instances: [] })).status).toBe(404);
  });

  it('tokens from `sluice token create` are printed once and stored only hashed', async () => {
    await createToken('alice', ['trigger', 'approver']);
    await createToken('bob', ['approver']);
    await createToken('carl', ['feedback']);
    await createToken('pat', ['promoter']);
    const file = await readFile(join(t.config.home, 'tokens.json'), 'utf8');
    for (const { token } of Object.values(tokens)) expect(file).not.toContain(token);
    const listed = await sluice(['token', 'list', '--json'], env);
    const doc = JSON.parse(listed.stdout) as { tokens: Record<string, unknown>[] };
    expect(doc.tokens.map((r) => r['identity'])).toEqual(['alice', 'bob', 'carl', 'pat']);
    expect(listed.stdout).not.toMatch(/sha256|sluice_[0-9a-f]{64}/);
  });

  it('an event starts one run per data as the token identity; roles, pipelines and paths are checked', async () => {
    const data = join(t.config.home, 'weather-drop.csv');
    await copyFile('node_modules/vega-datasets/data/seattle-weather.csv', data);
    const body = { pipeline: 'event-approval', event: 'nightly-drop', data };
    const first = await call('/v1/events', body, 'alice');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ started: true, event: 'nightly-drop', status: 'RUNNING' });
    const again = await call('/v1/events', body, 'alice');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ started: false, workflowId: first.body['workflowId'] });

    const forbidden = await call('/v1/events', body, 'carl');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error?.message).toBe(
      'carl may not start a pipeline: that needs role trigger, and this token holds feedback; ask for a token with role trigger',
    );
    const unknown = await call('/v1/events', { ...body, pipeline: 'first-dag' }, 'alice');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.message).toBe(
      'pipeline "first-dag" does not take events here: use one of event-approval',
    );
    const outside = await call('/v1/events', { ...body, data: '/etc/passwd' }, 'alice');
    expect(outside.status).toBe(400);
    expect(outside.body.error?.message).toMatch(
      /source \/etc\/passwd resolves to .*outside the allowed data roots/,
    );
    const extra = await call('/v1/events', { ...body, approver: 'alice' }, 'alice');
    expect(extra.status).toBe(400);
    expect(extra.body.error?.message).toMatch(/^POST \/v1\/events: body: Unrecognized key: "approver"/);

    const handle = t.client.workflow.getHandle(String(first.body['workflowId']));
    const description = await handle.describe();
    expect(description.searchAttributes['SluiceTrigger']).toEqual(['event']);
    await waitForGate(String(first.body['workflowId']));
    runId = String(first.body['workflowId']);
  });

  let runId = '';

  it('approvals over HTTP are the token identity: the starter is refused (and recorded), another approver passes; the audit report names the event', async () => {
    const self = await call(`/v1/runs/${runId}/approvals`, { decision: 'approve' }, 'alice');
    expect(self.status).toBe(403);
    expect(self.body.error?.message).toBe(
      'approve refused: alice started this run and may not approve it (separation of duties)',
    );
    const noRole = await call(`/v1/runs/${runId}/approvals`, { decision: 'approve' }, 'carl');
    expect(noRole.status).toBe(403);
    const ok = await call(`/v1/runs/${runId}/approvals`, { decision: 'approve', comment: 'fine' }, 'bob');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ sent: 'update', recorded: { approver: 'bob', decision: 'approve' } });
    const status = (await t.client.workflow.getHandle(runId).result()) as DagStatus;
    expect(status.startedBy).toBe('alice');
    const gate = status.approvals.find((g) => g.step === 'approve');
    expect(gate?.state).toBe('approved');
    expect(gate?.decisions.map((d) => d.approver)).toEqual(['bob']);
    const finished = await call(`/v1/runs/${runId}/approvals`, { decision: 'approve' }, 'bob');
    expect(finished.status).toBe(400);
    expect(finished.body.error?.message).toMatch(
      /is finished \(completed\): there is nothing left to approve/,
    );

    const report = await sluice(['audit', 'report', runId, '--json'], env, 120_000);
    expect(report.stderr).toBe('');
    expect(
      (JSON.parse(report.stdout) as { runs: { start: Record<string, unknown> }[] }).runs[0]?.start,
    ).toMatchObject({ by: 'alice', trigger: 'event', how: 'by the event "nightly-drop"' });

    const history = JSON.stringify(await t.client.workflow.getHandle(runId).fetchHistory());
    expect(history).toContain('separation of duties');
    for (const { token } of Object.values(tokens)) expect(history).not.toContain(token);
  });

  it('promote and roll back need role promoter and are recorded as the token identity', async () => {
    const model = 'http-churn';
    const target = registryTarget(t.config);
    for (const n of [1, 2]) await registerModelVersion(t.client, target, model, lineage(n));
    const refused = await call(`/v1/models/${model}:promote`, { version: 1, reason: 'try' }, 'bob');
    expect(refused.status).toBe(403);
    for (const version of [1, 2]) {
      const promoted = await call(`/v1/models/${model}:promote`, { version, reason: 'release' }, 'pat');
      expect(promoted.status).toBe(200);
      expect(promoted.body).toMatchObject({ model, outcome: 'promoted' });
    }
    const rolled = await call(`/v1/models/${model}:rollback`, { reason: 'bad canary' }, 'pat');
    expect(rolled.status).toBe(200);
    expect(rolled.body).toMatchObject({ from: 2, version: 1 });
    expect((await describeModel(t.client, model)).aliases).toMatchObject({ production: 1, previous: null });
    const events = await modelHistory(t.client, model);
    expect(
      events
        .filter((e) => e.type !== 'registered')
        .map((e) => [e.type, e.by, 'authorisedBy' in e ? e.authorisedBy : '']),
    ).toEqual([
      ['promoted', 'pat', 'role:promoter'],
      ['promoted', 'pat', 'role:promoter'],
      ['rolled-back', 'pat', 'role:promoter'],
    ]);
    const badBody = await call(`/v1/models/${model}:promote`, { version: 'two' }, 'pat');
    expect(badBody.status).toBe(400);
    expect(badBody.body.error?.message).toMatch(
      /^POST \/v1\/models\/http-churn:promote: version: .*; send \{"version": 3/,
    );
  });

  it('a revoked token is refused from the next request, and no token ever reached the server log', async () => {
    const revoked = await sluice(['token', 'revoke', tokens['carl']?.id ?? '', '--json'], env);
    expect(revoked.stderr).toBe('');
    const after = await call('/v1/feedback', { requestId: 'r', label: 1 }, 'carl');
    expect(after.status).toBe(401);
    expect(after.body.error?.code).toBe('INVALID_TOKEN');

    const log = serve.output();
    expect(log).toMatch(/"msg":"event"/);
    expect(log).toMatch(/"identity":"bob"/);
    for (const { token } of Object.values(tokens)) expect(log).not.toContain(token);
  });
});

describe('sluice serve with predict behind tokens and tight rate limits', () => {
  it('predict needs role predict; each identity gets its predict and control requests a minute, then 429 with Retry-After', async () => {
    const port = await freePort();
    const limited = startSluice(['serve', '--pipeline', pipelineFile, '--poll', '0'], {
      ...env,
      SLUICE_SERVE_PORT: String(port),
      SLUICE_SERVE_PREDICT_AUTH: 'true',
      SLUICE_SERVE_RATE_LIMIT: '1',
      SLUICE_SERVE_PREDICT_RATE_LIMIT: '2',
    });
    try {
      await limited.waitFor(/"msg":"serving"/);
      const base = `http://127.0.0.1:${port}`;
      const post = async (path: string, token?: string) => {
        const response = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify({ instances: [{}] }),
        });
        return { status: response.status, retryAfter: response.headers.get('retry-after') };
      };
      await createToken('scorer', ['predict']);
      const scorer = tokens['scorer']?.token;
      expect((await post('/v1/models/churn:predict')).status).toBe(401);
      expect((await post('/v1/models/churn:predict', tokens['bob']?.token)).status).toBe(403);
      // authenticated, so it reaches the model lookup: no model is served here
      expect((await post('/v1/models/churn:predict', scorer)).status).toBe(404);
      expect((await post('/v1/models/churn:predict', scorer)).status).toBe(404);
      const third = await post('/v1/models/churn:predict', scorer);
      expect(third.status).toBe(429);
      expect(Number(third.retryAfter)).toBeGreaterThanOrEqual(1);
      // another identity has its own allowance; state-changing routes have theirs (one a minute here)
      expect((await post('/v1/models/churn:predict', tokens['bob']?.token)).status).toBe(403);
      expect((await post('/v1/runs/nope/approvals', tokens['bob']?.token)).status).toBe(400);
      const over = await post('/v1/runs/nope/approvals', tokens['bob']?.token);
      expect(over.status).toBe(429);
    } finally {
      await limited.stop('SIGTERM');
    }
  });
});

async function waitForGate(workflowId: string): Promise<void> {
  const handle = t.client.workflow.getHandle(workflowId);
  for (let i = 0; i < 200; i++) {
    try {
      const status = await handle.query<DagStatus>('status');
      if (status.approvals.some((g) => g.state === 'awaiting')) return;
    } catch {
      // not started yet
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`run ${workflowId} never reached its approval gate`);
}

function lineage(n: number): RegisterVersionInput {
  const sha = (x: number) => x.toString(16).padStart(64, '0');
  return {
    requestId: `http-churn-${n}/register`,
    runId: `run-id-${n}`,
    workflowId: `http-churn-run-${n}`,
    pipeline: 'churn',
    dataSha256s: [sha(1000 + n)],
    model: { uri: `file:///m/${n}.json`, sha256: sha(n), kind: 'model', format: 'json', bytes: 100 + n },
    metrics: {},
    approvals: [],
    registeredBy: `run:http-churn-run-${n}`,
  };
}
