import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../client/connect.js';
import { ensureRegistry, registryTarget } from '../../client/registry.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { RunningWorker } from '../../worker/run.js';
import { sluice } from '../support/cli.js';
import { freePort } from '../support/paths.js';
import { testConfig, testWorker } from '../support/worker.js';

/**
 * `runs`, `status` and `models` read over Temporal's HTTP API when one is known (client/reads.ts) and
 * over gRPC otherwise: both paths must print the same thing, with and without payload encryption.
 */
const pipeline = fileURLToPath(new URL('fixtures/http-reads.pipeline.ts', import.meta.url));
const keys = `k1:${randomBytes(32).toString('hex')}`;

interface Side {
  config: SluiceConfig;
  env: Record<string, string>;
  worker: RunningWorker;
  runId: string;
  model: string;
}
const sides: Record<'plain' | 'encrypted', Side> = {} as Record<'plain' | 'encrypted', Side>;

async function side(extra: Record<string, string>): Promise<Side> {
  const { config, env } = await testConfig(extra);
  expect(env['TEMPORAL_HTTP_ADDRESS']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const worker = await testWorker(config);
  const run = await sluice(['run', pipeline, '--wait', '--json'], env, 120_000);
  expect(run.stderr).not.toMatch(/error/i);
  expect(run.code).toBe(0);
  const runId = (JSON.parse(run.stdout) as { workflowId: string }).workflowId;
  const model = `http-reads-${randomBytes(3).toString('hex')}`;
  // A registry on each side: the encrypted one's memo is encrypted, and `sluice models` without the
  // keys (every other test file's) lists it as unreadable instead of failing.
  const client = await connectClient(config);
  try {
    await ensureRegistry(client, registryTarget(config), model);
  } finally {
    await client.connection.close();
  }
  return { config, env, worker, runId, model };
}

beforeAll(async () => {
  sides.plain = await side({});
  sides.encrypted = await side({ SLUICE_PAYLOAD_KEYS: keys });
}, 300_000);

afterAll(async () => {
  for (const s of Object.values(sides)) await s?.worker.shutdown();
});

const grpc = { TEMPORAL_HTTP_ADDRESS: 'off' };

describe.each(['plain', 'encrypted'] as const)(
  'read-only commands over HTTP and gRPC (%s payloads)',
  (name) => {
    it('status of a finished run: the same report, step by step', async () => {
      const { env, runId } = sides[name];
      const http = await sluice(['status', runId, '--json'], env);
      const viaGrpc = await sluice(['status', runId, '--json'], { ...env, ...grpc });
      expect(http.code).toBe(0);
      expect(http.stdout).toBe(viaGrpc.stdout);
      const report = JSON.parse(http.stdout) as {
        temporalState: string;
        status: { steps: { id: string; state: string }[] };
      };
      expect(report.temporalState).toBe('COMPLETED');
      expect(report.status.steps).toEqual([expect.objectContaining({ id: 'profile', state: 'succeeded' })]);
      // and the human table
      expect((await sluice(['status', runId], env)).stdout).toBe(
        (await sluice(['status', runId], { ...env, ...grpc })).stdout,
      );
    });

    it('runs of a pipeline: the same list, search attributes decoded', async () => {
      const { env, runId } = sides[name];
      const args = ['runs', '--pipeline', 'http-reads', '--json'];
      const http = await sluice(args, env);
      expect(http.stdout).toBe((await sluice(args, { ...env, ...grpc })).stdout);
      const { runs } = JSON.parse(http.stdout) as {
        runs: { workflowId: string; pipeline: string; status: string }[];
      };
      expect(runs).toContainEqual(
        expect.objectContaining({ workflowId: runId, pipeline: 'http-reads', status: 'COMPLETED' }),
      );
    });
  },
);

describe('the HTTP read path', () => {
  it('models: the registry memo decoded alike', async () => {
    const { env, model } = sides.plain;
    const entry = async (extra: Record<string, string>) => {
      const result = await sluice(['models', '--json'], { ...env, ...extra });
      expect(result.code).toBe(0);
      return (JSON.parse(result.stdout) as { models: { model: string }[] }).models.find(
        (m) => m.model === model,
      );
    };
    const http = await entry({});
    expect(http).toEqual({
      model,
      workflowId: `registry/${model}`,
      versions: 0,
      aliases: { candidate: null, production: null, previous: null },
      updatedAt: null,
    });
    expect(await entry(grpc)).toEqual(http);
  });

  it('models: an encrypted registry is listed as unreadable without the keys, and read with them', async () => {
    const { env, model } = sides.encrypted;
    const { SLUICE_PAYLOAD_KEYS: _dropped, ...withoutKeys } = env;
    const entry = async (environment: Record<string, string>) => {
      const result = await sluice(['models', '--json'], environment);
      expect(result.code).toBe(0);
      return (JSON.parse(result.stdout) as { models: { model: string }[] }).models.find(
        (m) => m.model === model,
      );
    };
    const unreadable = {
      model,
      workflowId: `registry/${model}`,
      versions: null,
      aliases: { candidate: null, production: null, previous: null },
      updatedAt: null,
      unreadable:
        'this payload is encrypted and SLUICE_PAYLOAD_KEYS is not set: set it to the keys the workers use',
    };
    expect(await entry(withoutKeys)).toEqual(unreadable);
    expect(await entry({ ...withoutKeys, ...grpc })).toEqual(unreadable);
    const readable = { ...unreadable, versions: 0, unreadable: undefined };
    expect(await entry(env)).toEqual(JSON.parse(JSON.stringify(readable)));
    expect(await entry({ ...env, ...grpc })).toEqual(JSON.parse(JSON.stringify(readable)));
    // the table says which model and why, and still lists the others
    const human = await sluice(['models'], withoutKeys);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^${model} +\\? +\\?`, 'm'));
    expect(human.stdout).toContain(`${model}: its registry could not be read: this payload is encrypted`);
    expect(human.stdout).toMatch(new RegExp(`^${sides.plain.model} +0 +- +- +-`, 'm'));
  });

  it('a run that does not exist: the same one-line error either way', async () => {
    const { env } = sides.plain;
    const http = await sluice(['status', 'no-such-run'], env);
    const viaGrpc = await sluice(['status', 'no-such-run'], { ...env, ...grpc });
    expect(http.code).toBe(1);
    expect(http.stderr).toMatch(/no run "no-such-run" in namespace default: list runs with `sluice runs`/);
    expect(http.stderr).toBe(viaGrpc.stderr);
  });

  it('an encrypted status read without the keys says which variable to set', async () => {
    const { env, runId } = sides.encrypted;
    const { SLUICE_PAYLOAD_KEYS: _dropped, ...withoutKeys } = env;
    const result = await sluice(['status', runId], withoutKeys);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /this payload is encrypted and SLUICE_PAYLOAD_KEYS is not set: set it to the keys the workers use/,
    );
  });

  it('a configured HTTP address that nothing answers: one warning, then the same answer over gRPC', async () => {
    const { env, runId } = sides.plain;
    const wrong = `127.0.0.1:${await freePort()}`;
    const result = await sluice(['status', runId, '--json'], { ...env, TEMPORAL_HTTP_ADDRESS: wrong });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(
        `TEMPORAL_HTTP_ADDRESS http://${wrong} is not usable \\(ECONNREFUSED\\); used gRPC at .*: fix or unset it`,
      ),
    );
    expect(result.stdout).toBe((await sluice(['status', runId, '--json'], env)).stdout);
  });
});
