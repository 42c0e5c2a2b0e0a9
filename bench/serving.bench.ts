import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type * as GuardModule from '../serving/guard.js';
import type * as ServerModule from '../serving/server.js';
import { asSluiceRuns, type BenchResult } from './harness.js';
import { measureFeatureCost } from './serving-features.js';
import { benchModel, prepareServingFixture } from './serving-setup.js';
import { measureFlush, measureStages } from './serving-stages.js';
import { validateInstances } from '../serving/validate-instances.js';

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
 * handler that parses the same body and answers the same shape of JSON, side by side in one run: 1 row
 * on 32 connections in 5 alternating pairs (the headline ratios are their medians), the earlier
 * one-number-per-instance bare once beside them, 1 connection and 64-row requests, then 32
 * connections while production is switched to another version mid-run. After each sluice row the
 * bench waits for the prediction log to reach disk, so the next row does not pay for sluice's writes. The load generator is autocannon in a child process of its own (one
 * process, no workers), so it never shares the server's event loop; on a 2-core machine it still
 * shares the CPU, which costs both handlers alike. `--quick`: 3 s per headline row and 2 s per other
 * row instead of 10 (about 80 s in all).
 */
export async function run(args: string[] = []): Promise<BenchResult> {
  const quick = args.includes('--quick');
  const seconds = quick ? 2 : 10;
  const headlineSeconds = quick ? 3 : 10;
  const loadBefore = loadavg();
  const home = await mkdtemp(join(tmpdir(), 'sluice-bench-serving-'));
  try {
    const fixture = await prepareServingFixture(home);
    // The server as `sluice serve` runs it: compiled dist/ when current (tsx wraps each named closure of
    // the sources in a helper call, a cost `sluice serve` never pays), else the sources, noted.
    const { module: servingModule, compiled } = await asSluiceRuns<typeof ServerModule>('serving/server');
    const { createServingServer } = servingModule;
    const { guardFromConfig } = (await asSluiceRuns<typeof GuardModule>('serving/guard')).module;
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
    const [bare, numberBare] = [sameShapeBare(), numberAnswerBare()];
    try {
      const url = await server.listen('127.0.0.1', 0);
      const bareUrl = `${await bare.listen({ host: '127.0.0.1', port: 0 })}/predict`;
      const numberUrl = `${await numberBare.listen({ host: '127.0.0.1', port: 0 })}/predict`;
      const predictUrl = `${url}/v1/models/${benchModel}:predict`;
      const bodies = {
        1: JSON.stringify({ instances: [row] }),
        64: JSON.stringify({ instances: Array(64).fill(row) }),
      };
      await load(predictUrl, bodies[1], 8, 2); // warm up: JIT, TF.js kernels
      await load(bareUrl, bodies[1], 8, 1);
      await load(numberUrl, bodies[1], 8, 1);
      await load(predictUrl, bodies[64], 8, 1);
      // After each sluice run, wait until its prediction log is on disk (DuckDB writes it on its own
      // threads), so the next row, often a bare one, does not pay for sluice's log; the wait is noted.
      const settleMs: number[] = [];
      const sluiceLoad = async (body: string, connections: number, duration: number) => {
        const r = await load(predictUrl, body, connections, duration);
        const started = performance.now();
        await server.predictionLog.flush();
        settleMs.push(Math.round(performance.now() - started));
        return r;
      };
      await server.predictionLog.flush();
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
      // The headline: 1 row on 32 connections, sluice and the same-shape bare in 5 alternating pairs
      // (bare first, then sluice first, and so on), so a drift in the machine's load falls on both.
      // Each side's CPU per request is this process's (the servers', every thread), sluice's with its
      // log's flush after the window: a second view of the same pairs, less bound to the cores'
      // scheduling than req/s.
      const pairs: { sluice: Load; bare: Load; cpu: Record<'bare' | 'sluice', number>; load: number[] }[] =
        [];
      for (let i = 0; i < 5; i++) {
        const order = i % 2 === 0 ? (['bare', 'sluice'] as const) : (['sluice', 'bare'] as const);
        const pair: Partial<Record<'bare' | 'sluice', Load>> = {};
        const cpu = { bare: 0, sluice: 0 };
        for (const which of order) {
          const before = process.cpuUsage();
          const r =
            which === 'bare'
              ? await load(bareUrl, bodies[1], 32, headlineSeconds)
              : await sluiceLoad(bodies[1], 32, headlineSeconds);
          const used = process.cpuUsage(before);
          pair[which] = r;
          cpu[which] = Math.round(((used.user + used.system) / Math.max(1, r.requests)) * 10) / 10;
        }
        const done = pair as Record<'bare' | 'sluice', Load>;
        add(`bare fastify (same answer), pair ${i + 1}`, 1, 32, done.bare, `server CPU ${cpu.bare} µs/req`);
        add(`sluice predict, pair ${i + 1}`, 1, 32, done.sluice, `server CPU ${cpu.sluice} µs/req`);
        pairs.push({ ...done, cpu, load: loadavg() });
        if (i === 1)
          add(
            'bare fastify (one number per instance)',
            1,
            32,
            await load(numberUrl, bodies[1], 32, headlineSeconds),
          );
      }
      for (const [size, c] of [
        [1, 1],
        [64, 1],
        [64, 32],
      ] as const) {
        add('bare fastify (same answer)', size, c, await load(bareUrl, bodies[size], c, seconds));
        add('sluice predict', size, c, await sluiceLoad(bodies[size], c, seconds));
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
      const { stages, logged } = (() => {
        try {
          const model = production.primary;
          const instances = validateInstances(JSON.parse(bodies[1]), model.manifest);
          return {
            stages: measureStages(server, model, bodies[1]),
            logged: {
              instances,
              predictions: model.predict(instances),
              source: { model: model.model, version: model.version },
            },
          };
        } finally {
          production.primary.release();
        }
      })();
      const flushes = await measureFlush(
        join(home, 'flush-cost'),
        logged.source,
        logged.instances,
        logged.predictions,
      );
      for (const s of [...stages, ...flushes]) {
        rows.push({ handler: `in process: ${s.stage}`, 'µs/request': s.us });
      }
      const inputs = transform.inputs;
      const costs = inputs ? await measureFeatureCost({ ...transform, inputs }, row, [1, 100]) : [];
      for (const c of costs) {
        rows.push({
          handler: `features only (hour(date), distance, origin), ${c.batch}-row request`,
          'compiled JS µs': Number(c.compiledUs.toFixed(2)),
          'DuckDB in process µs': Number(c.duckdbUs.toFixed(0)),
        });
      }
      const numberAnswer = results.get('bare fastify (one number per instance)/1/32') as Load;
      const loadAfter = loadavg();
      const throughput = median(pairs.map((p) => p.sluice.rps / p.bare.rps));
      // autocannon reports whole milliseconds: a bare p99 under 1 ms counts as 1 ms.
      const p99 = median(pairs.map((p) => p.sluice.p99 / Math.max(1, p.bare.p99)));
      return {
        name: 'serving',
        description: `predict (MLP 32-16 on flights, scored by the Dense forward; server from ${compiled ? 'dist/' : 'sources via tsx'}) beside a bare Fastify handler, autocannon in its own process, ${headlineSeconds}s per headline row, ${seconds}s per other row${quick ? ' (--quick)' : ''}`,
        rows,
        ratios: {
          servingThroughputVsBare: round(throughput),
          servingP99VsBare: round(p99),
          servingThroughputVsNumberAnswer: round(median(pairs.map((p) => p.sluice.rps)) / numberAnswer.rps),
          servingCpuPerRequestVsBare: round(median(pairs.map((p) => p.cpu.bare / p.cpu.sluice))),
        },
        notes: [
          'servingThroughputVsBare, servingP99VsBare: the median over 5 alternating pairs of sluice predict ÷ bare fastify (same answer), 1-row requests on 32 connections (p99: autocannon whole ms, a bare p99 of 0 counted as 1)',
          'bare fastify (same answer) parses the body and answers what sluice predict answers (model, version, a request id, one labelled prediction with both class probabilities per instance) with JSON.stringify of an object',
          "servingCpuPerRequestVsBare: the median over the pairs of bare's server CPU per request ÷ sluice's (this process's user + system time over each window, every thread; sluice's includes the wait for its log to reach disk): the share of bare's throughput sluice would reach if the server's CPU were all that limited it",
          'servingThroughputVsNumberAnswer: the median sluice req/s of the pairs ÷ the earlier baseline, a bare handler answering one number per instance (run once, between pairs 2 and 3)',
          `after the swap production is v${swapped.production.version}; non-2xx and errors during the swap are in its row`,
          `the prediction log is on for sluice predict (one Parquet file per 20 000 rows or 5 s); after each sluice row the bench waits, untimed, for the rows still buffered (up to 20 000) to be on disk before the next row (${Math.min(...settleMs)}–${Math.max(...settleMs)} ms)`,
          'the in-process rows (µs/request) time the TypeScript sources as tsx loads them',
          'requests send the source columns (date, distance, origin); serving computes hour(date) with the compiled feature expressions (lib/model/derived-features.ts)',
          compiled
            ? 'the sluice server is the compiled dist/ (what `sluice serve` runs: `npm run build` made it from these sources)'
            : 'the sluice server runs from the TypeScript sources through tsx (dist/ is missing or older than the sources: `npm run build` makes the bench time what `sluice serve` runs)',
          'load generator: `node autocannon -c <connections> -d <s>` in a child process (one process), the servers in the bench process, on one 2-core machine',
          `load average (1, 5, 15 min) before: ${loadBefore.map((l) => l.toFixed(2)).join(', ')}; after each pair: ${pairs.map((p) => p.load[0]?.toFixed(2)).join(', ')}; after: ${loadAfter.map((l) => l.toFixed(2)).join(', ')}`,
        ],
        extra: {
          stages: [...stages, ...flushes],
          logSettleMs: settleMs,
          loadBefore,
          loadAfter,
          pairs: pairs.map((p, i) => ({
            pair: i + 1,
            sluice: p.sluice,
            bare: p.bare,
            throughput: round(p.sluice.rps / p.bare.rps),
            cpuUsPerRequest: p.cpu,
            p99: round(p.sluice.p99 / Math.max(1, p.bare.p99)),
            loadAfter: p.load,
          })),
          seconds,
          headlineSeconds,
          compiled,
        },
      };
    } finally {
      await bare.close();
      await numberBare.close();
      await server.close();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * The baseline: a bare Fastify handler that parses the same body and answers the same shape of JSON as
 * sluice's predict (model, version, a request id, per instance the label and both class
 * probabilities), built the plainest way, by `reply.send` of an object (JSON.stringify), so the ratio
 * compares like with like. The probability is a float32 as the network's are, so the bytes match too.
 */
function sameShapeBare(): FastifyInstance {
  const app = Fastify({ logger: false });
  app.post('/predict', (request, reply) => {
    const { instances } = request.body as { instances: unknown[] };
    return reply.send({
      model: benchModel,
      version: 1,
      requestId: randomUUID(),
      predictions: instances.map(() => {
        const p = Math.fround(0.19502127170562744);
        return { label: p >= 0.5 ? '1' : '0', probabilities: { '0': 1 - p, '1': p } };
      }),
    });
  });
  return app;
}

/** The earlier baseline, kept as an extra row: the same body parsed, one number per instance answered. */
function numberAnswerBare(): FastifyInstance {
  const app = Fastify({ logger: false });
  app.post('/predict', (request, reply) =>
    reply.send({
      predictions: (request.body as { instances: unknown[] }).instances.map(() => 0.5),
      version: 1,
    }),
  );
  return app;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
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
