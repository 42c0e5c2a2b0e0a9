import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { pino } from 'pino';
import { guardFromConfig } from '../serving/guard.js';
import { createServingServer } from '../serving/server.js';
import type { BenchResult } from './harness.js';
import { measureFeatureCost } from './serving-features.js';
import { benchModel, prepareServingFixture } from './serving-setup.js';
import { measureStages } from './serving-stages.js';

const autocannonBin = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));

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
 * `serving`: predict on a real flights model (trained here, saved to an artifact store, served by
 * `createServingServer` exactly as `sluice serve` does, prediction log on) against a bare Fastify
 * handler that parses the same body and answers one number per instance, side by side in one run:
 * 1 and 32 connections, 1-row and 64-row requests, then 32 connections while production is switched
 * to another version mid-run. The load generator is autocannon in a child process of its own (one
 * process, no workers), so it never shares the server's event loop; on a 2-core machine it still
 * shares the CPU, which costs both handlers alike. `--quick`: 3 s per row instead of 10.
 */
export async function run(args: string[] = []): Promise<BenchResult> {
  const quick = args.includes('--quick');
  const seconds = quick ? 3 : 10;
  const loadBefore = loadavg();
  const home = await mkdtemp(join(tmpdir(), 'sluice-bench-serving-'));
  try {
    const fixture = await prepareServingFixture(home);
    const { registry, row, transform } = fixture;
    const log = pino({ level: 'warn' }, pino.destination({ dest: join(home, 'serve.log'), sync: false }));
    const server = await createServingServer({
      tf: fixture.tf,
      store: fixture.store,
      registry: () => Promise.resolve(structuredClone(registry)),
      log,
      guard: await guardFromConfig(
        { tokensFile: join(home, 'tokens.json'), rateLimit: { control: 0, predict: 0 } },
        log,
      ),
      deployments: [{ model: benchModel }],
      bodyLimit: 1024 * 1024,
      predictionLog: { dir: join(home, 'prediction-log') },
      pollMs: 0,
      processMetrics: false,
    });
    const bare = Fastify({ logger: false });
    bare.post('/predict', (request, reply) =>
      reply.send({
        predictions: (request.body as { instances: unknown[] }).instances.map(() => 0.5),
        version: 1,
      }),
    );
    try {
      const url = await server.listen('127.0.0.1', 0);
      const bareUrl = `${await bare.listen({ host: '127.0.0.1', port: 0 })}/predict`;
      const predictUrl = `${url}/v1/models/${benchModel}:predict`;
      const bodies = {
        1: JSON.stringify({ instances: [row] }),
        64: JSON.stringify({ instances: Array(64).fill(row) }),
      };
      await load(predictUrl, bodies[1], 8, 2); // warm up: JIT, TF.js kernels
      await load(bareUrl, bodies[1], 8, 2);
      await load(predictUrl, bodies[64], 8, 1);
      const rows: Record<string, string | number>[] = [];
      const results = new Map<string, Load>();
      const add = (handler: string, rowsPerRequest: number, connections: number, r: Load, note = '') => {
        results.set(`${handler}/${rowsPerRequest}/${connections}`, r);
        rows.push({
          handler,
          'rows/request': rowsPerRequest,
          connections,
          'p50 ms': r.p50,
          'p99 ms': r.p99,
          'max ms': r.max,
          'req/s': Math.round(r.rps),
          'rows/s': Math.round(r.rps * rowsPerRequest),
          requests: r.requests,
          'non-2xx': r.non2xx,
          errors: r.errors,
          ...(note ? { note } : {}),
        });
      };
      for (const size of [1, 64] as const) {
        for (const c of [1, 32]) {
          add('bare fastify', size, c, await load(bareUrl, bodies[size], c, seconds));
          add('sluice predict', size, c, await load(predictUrl, bodies[size], c, seconds));
        }
      }
      const during = load(predictUrl, bodies[1], 32, seconds + 1);
      await new Promise((r) => setTimeout(r, Math.min(2_000, (seconds * 1000) / 2)));
      registry.aliases = { production: 2, candidate: null, previous: 1 };
      const started = performance.now();
      await server.pool.refresh(benchModel);
      const swapMs = performance.now() - started;
      const swapped = server.pool.describe(benchModel)['loaded'] as { production: { version: number } };
      add('sluice predict, v1→v2 swap mid-run', 1, 32, await during, `load+switch ${swapMs.toFixed(0)} ms`);

      const production = server.pool.route(benchModel, 'stages');
      const stages = (() => {
        try {
          return measureStages(server, production.primary, bodies[1]);
        } finally {
          production.primary.release();
        }
      })();
      for (const s of stages) rows.push({ handler: `in process: ${s.stage}`, 'µs/request': s.us });
      const inputs = transform.inputs;
      const costs = inputs ? await measureFeatureCost({ ...transform, inputs }, row, [1, 100]) : [];
      for (const c of costs) {
        rows.push({
          handler: `features only (hour(date), distance, origin), ${c.batch}-row request`,
          'compiled JS µs': Number(c.compiledUs.toFixed(2)),
          'DuckDB in process µs': Number(c.duckdbUs.toFixed(0)),
        });
      }
      const bare32 = results.get('bare fastify/1/32') as Load;
      const sluice32 = results.get('sluice predict/1/32') as Load;
      const loadAfter = loadavg();
      return {
        name: 'serving',
        description: `predict (MLP 32-16 on flights, ${fixture.backend.name} backend) beside a bare Fastify handler, autocannon in its own process, ${seconds}s per row${quick ? ' (--quick)' : ''}`,
        rows,
        ratios: {
          servingThroughputVsBare: round(sluice32.rps / bare32.rps),
          // autocannon reports whole milliseconds: a bare p99 under 1 ms counts as 1 ms.
          servingP99VsBare: round(sluice32.p99 / Math.max(1, bare32.p99)),
        },
        notes: [
          'ratios: sluice predict ÷ bare fastify, 1-row requests on 32 connections (p99: autocannon whole ms, a bare p99 of 0 counted as 1)',
          `after the swap production is v${swapped.production.version}; non-2xx and errors during the swap are in its row`,
          'the prediction log is on for sluice predict (one Parquet file per 5 000 rows or 5 s)',
          'requests send the source columns (date, distance, origin); serving computes hour(date) with the compiled feature expressions (lib/model/derived-features.ts)',
          'load generator: `node autocannon -c <connections> -d <s>` in a child process (one process), the servers in the bench process, on one 2-core machine',
          `load average (1, 5, 15 min) before: ${loadBefore.map((l) => l.toFixed(2)).join(', ')}; after: ${loadAfter.map((l) => l.toFixed(2)).join(', ')}`,
        ],
        extra: { stages, loadBefore, loadAfter, seconds },
      };
    } finally {
      await bare.close();
      await server.close();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
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
