// Fault suite: `sluice serve` SIGKILLed the moment a prediction-log flush has its temp file open, again
// and again under heavy traffic. Every visible log file must be a whole Parquet file, the readers
// (deploy observation's glob, the monitor's reader) must count the same rows, and a restarted server
// must log every answered row or count it as dropped.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { observeDeployment } from '../../activities/deploy/observe-deployment.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { startRun } from '../../client/runs.js';
import { resolveRunParams } from '../../pipelines/params.js';
import { readLabeledPredictions } from '../../lib/feedback-log.js';
import { flightRows } from '../integration/fixtures/serving.js';
import { lifecycleRoles } from '../integration/fixtures/lifecycle.js';
import { startSluice, type LiveSluice } from '../support/cli.js';
import { freePort } from '../support/paths.js';
import { useTestWorker } from '../support/worker.js';
import { faultLifecycle, finishRun, sleep, started, stopAll } from './support/faults.js';

const MODEL = 'delay-serving-faults';
/** Instances per request: 10 requests fill the log's default 5 000-row flush. */
const BATCH = 500;

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles })),
);

afterAll(stopAll);

/** `sluice serve` as its own process on a free port, once it answers. */
async function serve(env: Record<string, string>): Promise<{ process: LiveSluice; url: string }> {
  const port = await freePort();
  const process = startSluice(['serve', '--model', MODEL, '--poll', '0'], {
    ...env,
    SLUICE_SERVE_PORT: String(port),
    SLUICE_LOG_LEVEL: 'info',
  });
  started.push(process);
  await process.waitFor(/"msg":"serving"/, 60_000);
  return { process, url: `http://127.0.0.1:${port}` };
}

/** Four clients sending 500-row requests until stopped; the request ids that were answered. */
function hammer(url: string, rows: Record<string, unknown>[], tag: string) {
  let stopped = false;
  const answered: string[] = [];
  let n = 0;
  const client = async () => {
    while (!stopped) {
      const id = `${tag}-${n++}`;
      const start = (n * BATCH) % (rows.length - BATCH);
      const response = await fetch(`${url}/v1/models/${MODEL}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': id },
        body: JSON.stringify({ instances: rows.slice(start, start + BATCH) }),
      }).catch(() => undefined);
      // Refused connections once the server is killed end this client.
      if (!response) return;
      if (response.status === 200) answered.push(id);
      await response.arrayBuffer().catch(() => undefined);
    }
  };
  const done = Promise.all([client(), client(), client(), client()]);
  return {
    answered,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** Rows serving reported as not logged (`alert: prediction-log-loss`), from its JSON log lines. */
function lossAlerts(output: string): number {
  let rows = 0;
  for (const line of output.split('\n')) {
    if (!line.includes('prediction-log-loss')) continue;
    const entry = JSON.parse(line) as { alert?: string; rows?: number };
    if (entry.alert === 'prediction-log-loss') rows += entry.rows ?? 0;
  }
  return rows;
}

/** What the log directory holds: whole logs (`*.parquet`) and anything else (hidden temp files). */
async function listLog(dir: string): Promise<{ logs: string[]; other: string[] }> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return {
    logs: names.filter((n) => n.endsWith('.parquet') && !n.startsWith('.')).sort(),
    other: names.filter((n) => !(n.endsWith('.parquet') && !n.startsWith('.'))).sort(),
  };
}

/** Rows per log file, each file opened by DuckDB on its own (a torn file fails here). */
async function rowsPerFile(dir: string, files: string[]): Promise<Map<string, number>> {
  return withDuckDB(async (db) => {
    const counts = new Map<string, number>();
    for (const file of files) {
      const reader = await db.runAndReadAll(
        `SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(join(dir, file))})`,
      );
      counts.set(file, Number(reader.getRowObjectsJS()[0]?.['n']));
    }
    return counts;
  });
}

/** The log as its readers see it: the glob deploy observation uses, and the monitor's reader. */
async function readersAgree(logDir: string, expected: number): Promise<void> {
  const dir = join(logDir, MODEL);
  // DuckDB's glob refuses to match nothing: the first kill may land in the very first write.
  const globbed =
    (await listLog(dir)).logs.length === 0
      ? { n: 0, distinct_rows: 0 }
      : await withDuckDB(async (db) => {
          const reader = await db.runAndReadAll(
            `SELECT count(*)::INTEGER AS n, count(DISTINCT (request_id, instance))::INTEGER AS distinct_rows FROM read_parquet(${sqlString(join(dir, '*.parquet'))})`,
          );
          return reader.getRowObjectsJS()[0] as { n: number; distinct_rows: number };
        });
  expect(globbed).toEqual({ n: expected, distinct_rows: expected });
  expect(await readLabeledPredictions(logDir, MODEL)).toHaveLength(expected);
  const observed = await observeDeployment(logDir, {
    model: MODEL,
    candidateVersion: 1,
    productionVersion: null,
    from: 0,
    to: Date.now() + 60_000,
  });
  expect(observed.candidate.predictions).toBe(expected);
}

describe('serving killed while writing its prediction log', () => {
  it('leaves only whole Parquet files readers agree on, and a restarted server keeps logging', async () => {
    const spec = faultLifecycle('fault-serving', {
      model: MODEL,
      deploy: { strategy: 'direct', infra: { sampleRows: 50, maxP95Ms: 500 } },
    });
    const handle = await startRun(t.client, t.config, spec, {
      runParams: resolveRunParams(spec, {}),
      startedBy: 'dana',
    });
    const run = await finishRun(handle);
    expect(run.state).toBe('succeeded');

    const rows = await flightRows(5000);
    const dir = join(t.config.serve.predictionLogDir, MODEL);
    let before = new Map<string, number>();
    let answered = 0;
    let tornWrites = 0;
    // Kill until a kill has landed inside a write at least twice (a temp file left behind), at most 6 times.
    for (let cycle = 0; cycle < 6 && tornWrites < 2; cycle++) {
      const { process, url } = await serve(t.env);
      const traffic = hammer(url, rows, `kill${cycle}`);
      const tempsBefore = (await listLog(dir)).other.length;
      // Watch the directory and SIGKILL the moment a flush has a temp file open (give up after 20 s).
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (await listLog(dir)).other.length === tempsBefore) await sleep(2);
      await process.stop('SIGKILL');
      await traffic.stop();
      answered += traffic.answered.length * BATCH;

      const { logs, other } = await listLog(dir);
      if (other.length > tempsBefore) tornWrites++;
      // Every whole log opens; files are never rewritten, so earlier files keep their rows.
      const after = await rowsPerFile(dir, logs);
      for (const [file, n] of before) expect(after.get(file), file).toBe(n);
      for (const name of other) expect(name, 'only hidden temp files besides logs').toMatch(/^\..*\.tmp$/);
      const total = [...after.values()].reduce((a, b) => a + b, 0);
      // Killed with rows still buffered: some answered rows are lost, none is invented or doubled.
      expect(total).toBeLessThanOrEqual(answered);
      await readersAgree(t.config.serve.predictionLogDir, total);
      before = after;
    }
    expect(tornWrites, 'kills that landed inside a prediction-log write').toBeGreaterThanOrEqual(1);

    // A restarted server logs again; stopped gracefully, it flushes everything it answered.
    const { process, url } = await serve(t.env);
    const traffic = hammer(url, rows, 'clean');
    await sleep(3_000);
    await traffic.stop();
    expect(await process.stop('SIGTERM')).toBe(0);
    const { logs } = await listLog(dir);
    const counts = await rowsPerFile(dir, logs);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const clean = await withDuckDB(async (db) => {
      const reader = await db.runAndReadAll(
        `SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(join(dir, '*.parquet'))}) WHERE request_id LIKE 'clean-%'`,
      );
      return Number(reader.getRowObjectsJS()[0]?.['n']);
    });
    expect(traffic.answered.length).toBeGreaterThan(0);
    // Four clients outrun the writer, so the bounded buffer drops rows, each counted in an alert line:
    // every answered row is either in the log or in such a line, nothing vanishes unaccounted.
    const dropped = lossAlerts(process.output());
    expect(clean + dropped).toBe(traffic.answered.length * BATCH);
    await readersAgree(t.config.serve.predictionLogDir, total);
  });
});
