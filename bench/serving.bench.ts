import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { pino } from 'pino';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { sqlString, withDuckDB } from '../lib/duckdb.js';
import { sha256File } from '../lib/hash.js';
import { selectTfBackend } from '../activities/tf-backend.js';
import { modelBody, saveModel } from '../lib/model/model-artifact.js';
import { trainOnDataset } from '../activities/train/train-core.js';
import type { ModelVersion, RegistryDescription } from '../pipelines/registry.js';
import { featuresSchema, labelSchema, splitSchema, trainerSchema } from '../pipelines/train-spec.js';
import { guardFromConfig } from '../serving/guard.js';
import { createServingServer } from '../serving/server.js';
import type { BenchResult } from './harness.js';
import { measureFeatureCost } from './serving-features.js';
import type { FittedTransform } from '../pipelines/transform.js';

const flights = fileURLToPath(
  new URL('../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url),
);
const autocannonBin = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));
const MODEL = 'flight-delay';
const seconds = 5;

export interface Load {
  p50: number;
  p99: number;
  max: number;
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/**
 * `serving`: single-row predict on a real flights model (trained here, saved to an artifact store,
 * served by `createServingServer` exactly as `sluice serve` does, prediction log on) against a bare
 * Fastify handler that parses the same body and answers a constant, at 1 and 32 connections, with
 * autocannon in a separate process so the load generator does not share the server's event loop;
 * then 32 connections while production is switched to another version mid-run.
 */
export async function run(): Promise<BenchResult> {
  const home = await mkdtemp(join(tmpdir(), 'sluice-bench-serving-'));
  try {
    const backend = await selectTfBackend();
    const tf = await import('@tensorflow/tfjs');
    const store = createArtifactStore(home);
    const sample = join(home, 'flights-30k.parquet');
    const row = await withDuckDB(async (db) => {
      await db.run(
        `COPY (SELECT date, delay, distance, origin FROM read_parquet(${sqlString(flights)}) WHERE hash(date, origin, destination) % 100 = 0) TO ${sqlString(sample)} (FORMAT parquet)`,
      );
      const reader = await db.runAndReadAll(
        `SELECT strftime(date, '%Y-%m-%d %H:%M:%S') AS date, distance::DOUBLE AS distance, origin FROM ${sqlString(sample)} LIMIT 1`,
      );
      return reader.getRowObjectsJS()[0] as Record<string, unknown>;
    });
    const { sha256, bytes } = await sha256File(sample);
    const versions: ModelVersion[] = [];
    let transform: FittedTransform | undefined;
    for (const seed of [1, 2]) {
      const outcome = await trainOnDataset({
        dataset: { path: sample, uri: sample, sha256, bytes },
        features: featuresSchema.parse({
          numeric: [{ name: 'hour', sql: 'hour(date)' }, 'distance'],
          categorical: [{ name: 'origin', topK: 20 }],
        }),
        label: labelSchema.parse({ sql: 'delay > 15', task: 'binary' }),
        split: splitSchema.parse({ kind: 'hash', key: 'concat(date, origin)', seed: 1 }),
        trainer: trainerSchema.parse({ model: 'mlp', layers: [32, 16], epochs: 2, seed }),
      });
      const ref = await saveModel(store, modelBody(outcome), outcome.transform, outcome.metadata);
      transform ??= outcome.transform;
      versions.push({
        version: seed,
        registeredAt: new Date().toISOString(),
        requestId: `bench-${seed}`,
        runId: 'bench',
        workflowId: 'bench',
        pipeline: 'bench',
        dataSha256s: [sha256],
        model: ref,
        metrics: {},
        approvals: [],
        registeredBy: 'bench',
      });
    }
    const registry: RegistryDescription = {
      model: MODEL,
      versions,
      aliases: { production: 1, candidate: 2, previous: null },
      eventCount: 0,
    };
    const log = pino({ level: 'warn' }, pino.destination({ dest: join(home, 'serve.log'), sync: false }));
    const server = await createServingServer({
      tf,
      store,
      registry: () => Promise.resolve(structuredClone(registry)),
      log,
      guard: await guardFromConfig(
        { tokensFile: join(home, 'tokens.json'), rateLimit: { control: 0, predict: 0 } },
        log,
      ),
      deployments: [{ model: MODEL }],
      bodyLimit: 1024 * 1024,
      predictionLog: { dir: join(home, 'prediction-log') },
      pollMs: 0,
      processMetrics: false,
    });
    const bare = Fastify({ logger: false });
    bare.post('/predict', (request, reply) =>
      reply.send({
        predictions: [(request.body as { instances: unknown[] }).instances.length * 0.5],
        version: 1,
      }),
    );
    try {
      const url = await server.listen('127.0.0.1', 0);
      const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
      const body = JSON.stringify({ instances: [row] });
      const predictUrl = `${url}/v1/models/${MODEL}:predict`;
      await load(predictUrl, body, 4, 2); // warm up: JIT, TF.js kernels
      await load(`${bareUrl}/predict`, body, 4, 2);
      const rows: Record<string, string | number>[] = [];
      const add = (handler: string, connections: number, r: Load, note = '') =>
        rows.push({
          handler,
          connections,
          'p50 ms': r.p50,
          'p99 ms': r.p99,
          'max ms': r.max,
          'req/s': Math.round(r.rps),
          requests: r.requests,
          'non-2xx': r.non2xx,
          errors: r.errors,
          ...(note ? { note } : {}),
        });
      for (const c of [1, 32]) {
        add('bare fastify', c, await load(`${bareUrl}/predict`, body, c, seconds));
        add('sluice predict', c, await load(predictUrl, body, c, seconds));
      }
      const during = load(predictUrl, body, 32, seconds + 1);
      await new Promise((r) => setTimeout(r, 2_000));
      registry.aliases = { production: 2, candidate: null, previous: 1 };
      const started = performance.now();
      await server.pool.refresh(MODEL);
      const swapMs = performance.now() - started;
      const swapped = server.pool.describe(MODEL)['loaded'] as { production: { version: number } };
      add('sluice predict, v1→v2 swap mid-run', 32, await during, `load+switch ${swapMs.toFixed(0)} ms`);
      const inputs = transform?.inputs;
      const costs =
        transform && inputs ? await measureFeatureCost({ ...transform, inputs }, row, [1, 100]) : [];
      for (const c of costs) {
        rows.push({
          handler: `features only (hour(date), distance, origin), ${c.batch}-row request`,
          'compiled JS µs': Number(c.compiledUs.toFixed(2)),
          'DuckDB in process µs': Number(c.duckdbUs.toFixed(0)),
        });
      }
      return {
        name: 'serving',
        description: `single-row predict (MLP 32-16 on flights, ${backend.name} backend) vs a bare Fastify handler, autocannon ${seconds}s per row`,
        rows,
        notes: [
          `after the swap production is v${swapped.production.version}; non-2xx and errors during the swap are in the last row`,
          'the prediction log is on for sluice predict (one Parquet file per 5 000 rows or 5 s)',
          'requests send the source columns (date, distance, origin); serving computes hour(date) with the compiled feature expressions (lib/model/derived-features.ts)',
          'features only: the same computation per request, compiled JS (what serving runs) against DuckDB in process over the request rows (a VALUES query per request)',
        ],
      };
    } finally {
      await bare.close();
      await server.close();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Run autocannon in its own process (JSON out) and read its latency and throughput. */
export function load(url: string, body: string, connections: number, duration: number): Promise<Load> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        autocannonBin,
        '-j',
        '-c',
        String(connections),
        '-d',
        String(duration),
        '-m',
        'POST',
        '-H',
        'content-type=application/json',
        '-b',
        body,
        url,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        const r = JSON.parse(out) as {
          latency: { p50: number; p99: number; max: number };
          requests: { average: number; total: number };
          non2xx: number;
          errors: number;
        };
        resolve({
          p50: r.latency.p50,
          p99: r.latency.p99,
          max: r.latency.max,
          rps: r.requests.average,
          requests: r.requests.total,
          non2xx: r.non2xx,
          errors: r.errors,
        });
      } catch (error) {
        reject(
          new Error(`autocannon exited ${String(code)} without a JSON report: ${(error as Error).message}`),
        );
      }
    });
  });
}
