import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { withDuckDB, sqlString } from '../../lib/duckdb.js';
import { createServingMetrics } from '../../serving/metrics.js';
import { PredictionLog, staleTempMs, type PredictionRecord } from '../../lib/prediction-log.js';
import type { SharedLogs } from '../../lib/shared-logs.js';

describe('prediction log', () => {
  it("sweeps a killed writer's stale temp files on its first write to a model, and keeps fresh ones", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-plog-'));
    const modelDir = join(dir, 'churn');
    await mkdir(modelDir);
    const stale = join(modelDir, '.20261124T000000000Z-000001-abcdef.parquet.tmp');
    const fresh = join(modelDir, '.20261124T020000000Z-000002-abcdef.parquet.tmp');
    const other = join(modelDir, 'notes.tmp');
    for (const file of [stale, fresh, other]) await writeFile(file, 'half a parquet file');
    const old = new Date(Date.now() - staleTempMs - 60_000);
    await utimes(stale, old, old);
    await utimes(other, old, old);

    const log = new PredictionLog({ dir }, pino({ level: 'silent' }), createServingMetrics(false));
    log.append([
      {
        requestId: 'r1',
        instance: 0,
        model: 'churn',
        version: 1,
        role: 'production',
        timeMs: Date.now(),
        features: '{}',
        prediction: '0.5',
        score: 0.5,
      },
    ]);
    await log.close();
    const left = await readdir(modelDir);
    expect(left).not.toContain('.20261124T000000000Z-000001-abcdef.parquet.tmp');
    expect(left).toContain('.20261124T020000000Z-000002-abcdef.parquet.tmp');
    expect(left).toContain('notes.tmp');
    expect(left.filter((f) => f.endsWith('.parquet'))).toHaveLength(1);
  });

  it('publishes each finished file to the shared store; a file the store refuses stays local and goes with the next flush', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-plog-'));
    const published: string[] = [];
    let down = true;
    const shared: SharedLogs = {
      where: 's3://bucket/logs/',
      publish: (path) => {
        if (down) return Promise.reject(new Error('the S3 store at http://127.0.0.1:1 is unreachable'));
        published.push(path);
        return Promise.resolve();
      },
      mirror: () => Promise.resolve(0),
    };
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const log = new PredictionLog({ dir, shared }, logger, createServingMetrics(false));
    const row = (requestId: string): PredictionRecord => ({
      requestId,
      instance: 0,
      model: 'churn',
      version: 1,
      role: 'production',
      timeMs: Date.now(),
      features: '{}',
      prediction: '0.5',
      score: 0.5,
    });
    log.append([row('r1')]);
    await log.flush();
    expect(published).toEqual([]);
    expect(lines.join('')).toContain('is not yet published to s3://bucket/logs/');
    down = false;
    log.append([row('r2')]);
    await log.close();
    const files = (await readdir(join(dir, 'churn'))).filter((f) => f.endsWith('.parquet')).sort();
    expect(files).toHaveLength(2);
    expect(published).toEqual(files.map((f) => `prediction-log/churn/${f}`));
  });

  it('a full buffer drops rows, counts each and alerts them summed, not one line per request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-plog-'));
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const metrics = createServingMetrics(false);
    const log = new PredictionLog({ dir, maxBufferedRows: 3, flushRows: 3 }, logger, metrics);
    const row = (requestId: string): PredictionRecord => ({
      requestId,
      instance: 0,
      model: 'churn',
      version: 1,
      role: 'production',
      timeMs: Date.now(),
      features: '{"x":1}',
      prediction: '0.5',
      score: 0.5,
    });
    // Three rows fill the buffer (and start a write); the next 20 requests find no room.
    for (let i = 0; i < 23; i++) log.append([row(`r${i}`)]);
    await log.flush();
    const alerts = lines
      .map((l) => JSON.parse(l) as { alert?: string; rows?: number; reason?: string })
      .filter((a) => a.alert === 'prediction-log-loss');
    expect(alerts.reduce((n, a) => n + (a.rows ?? 0), 0)).toBe(20);
    expect(alerts.length).toBeLessThan(20);
    expect(alerts.every((a) => a.reason === 'buffer-full')).toBe(true);
    expect(await metrics.registry.metrics()).toContain(
      'sluice_prediction_log_rows_dropped_total{model="churn",reason="buffer-full"} 20',
    );
    expect((await readdir(join(dir, 'churn'))).filter((f) => f.endsWith('.parquet'))).toHaveLength(1);
    await log.close();
  });

  it('writes every row back exactly: quotes, tabs, line breaks and non-ASCII in features, class lists, a NaN score', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-plog-'));
    const log = new PredictionLog({ dir }, pino({ level: 'silent' }), createServingMetrics(false));
    const features = [
      { note: 'say "hi",\tthen\nleave \u001f here', city: 'Zürich 東京', n: 1e-7 },
      { empty: '', nothing: null, list: [1, 2] },
      {},
    ];
    const rows: PredictionRecord[] = features.map((f, i) => ({
      requestId: i === 0 ? 'req\twith tab' : `r${i}`,
      instance: i,
      model: 'churn',
      version: 3,
      role: i === 2 ? 'shadow' : 'production',
      timeMs: 1_765_000_000_000 + i,
      features: JSON.stringify(f),
      prediction: JSON.stringify(i === 1 ? [0.25, 0.75] : i === 2 ? null : 0.5),
      score: i === 1 ? 0.75 : i === 2 ? Number.NaN : 0.5,
    }));
    log.append(rows);
    await log.close();
    const [file] = (await readdir(join(dir, 'churn'))).filter((f) => f.endsWith('.parquet'));
    const back = await withDuckDB(async (db) => {
      const reader = await db.runAndReadAll(
        `SELECT request_id, instance, model, version, role, epoch_ms(time) AS t, features, prediction, score FROM read_parquet(${sqlString(join(dir, 'churn', file!))}) ORDER BY instance`,
      );
      return reader.getRowObjectsJS();
    });
    expect(back).toEqual(
      rows.map((r) => ({
        request_id: r.requestId,
        instance: r.instance,
        model: r.model,
        version: r.version,
        role: r.role,
        t: BigInt(r.timeMs),
        features: r.features,
        prediction: r.prediction,
        score: Number.isFinite(r.score) ? r.score : null,
      })),
    );
    expect(JSON.parse(back[0]!.features as string)).toEqual(features[0]);
  });

  it('keeps every row and its order across the batches lines are copied in (1 000 rows, 3 flushes)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-plog-'));
    const log = new PredictionLog(
      { dir, flushRows: 400 },
      pino({ level: 'silent' }),
      createServingMetrics(false),
    );
    for (let i = 0; i < 1_000; i++) {
      log.append([
        {
          requestId: `r${i}`,
          instance: 0,
          model: 'churn',
          version: 1,
          role: 'production',
          timeMs: 1_765_000_000_000 + i,
          features: JSON.stringify({ i }),
          prediction: String(i / 1_000),
          score: i / 1_000,
        },
      ]);
    }
    await log.close();
    const files = (await readdir(join(dir, 'churn'))).filter((f) => f.endsWith('.parquet'));
    expect(files).toHaveLength(3);
    const ids = await withDuckDB(async (db) => {
      const reader = await db.runAndReadAll(
        `SELECT request_id, features, score FROM read_parquet(${sqlString(join(dir, 'churn', '*.parquet'))}) ORDER BY epoch_ms(time)`,
      );
      return reader.getRowObjectsJS();
    });
    expect(ids.map((r) => r.request_id)).toEqual(Array.from({ length: 1_000 }, (_, i) => `r${i}`));
    expect(ids.map((r) => JSON.parse(r.features as string) as unknown)).toEqual(
      Array.from({ length: 1_000 }, (_, i) => ({ i })),
    );
    expect(ids[999]!.score).toBe(0.999);
  });
  it("serving's appendScored writes the rows append of the records writes, and drops past the bound alike", async () => {
    const read = async (dir: string, model: string) =>
      withDuckDB(async (db) => {
        const reader = await db.runAndReadAll(
          `SELECT request_id, instance, model, version, role, epoch_ms(time) AS t, features, prediction, score FROM read_parquet(${sqlString(join(dir, model, '*.parquet'))}) ORDER BY instance`,
        );
        return reader.getRowObjectsJS();
      });
    const rows = [{ a: 1, s: 'x\ny' }, { a: 2 }, { a: 3 }, { a: 4 }, { a: 5 }, { a: 6 }];
    // A number, a class list, a NaN, a class list with a NaN, an infinity, and no prediction at all.
    const predictions = [0.1 + 0.2, [0.25, 0.75], Number.NaN, [Number.NaN, 0.5], Number.POSITIVE_INFINITY];
    // A request id holding the field separator and a line break (never from HTTP, but never a broken file).
    const requestId = 'req\u001f1\nx';
    const model = { model: 'churn', version: 7 };
    const scoredDir = await mkdtemp(join(tmpdir(), 'sluice-plog-'));
    const scored = new PredictionLog(
      { dir: scoredDir },
      pino({ level: 'silent' }),
      createServingMetrics(false),
    );
    scored.appendScored(model, 'canary', requestId, rows, predictions, 1_765_000_000_000);
    await scored.close();

    const recordsDir = await mkdtemp(join(tmpdir(), 'sluice-plog-'));
    const records = new PredictionLog(
      { dir: recordsDir },
      pino({ level: 'silent' }),
      createServingMetrics(false),
    );
    records.append(
      rows.map((row, instance): PredictionRecord => {
        const p = predictions[instance] ?? Number.NaN;
        return {
          requestId,
          instance,
          model: 'churn',
          version: 7,
          role: 'canary',
          timeMs: 1_765_000_000_000,
          features: JSON.stringify(row),
          prediction: JSON.stringify(typeof p === 'number' && !Number.isFinite(p) ? null : p),
          score: typeof p === 'number' ? p : Math.max(...p),
        };
      }),
    );
    await records.close();
    const back = await read(scoredDir, 'churn');
    expect(back).toEqual(await read(recordsDir, 'churn'));
    expect(back.map((r) => [r.prediction, r.score])).toEqual([
      ['0.30000000000000004', 0.30000000000000004],
      ['[0.25,0.75]', 0.75],
      ['null', null],
      ['[null,0.5]', null],
      ['null', null],
      ['null', null],
    ]);
    expect(back.every((r) => r.request_id === 'req\ufffd1\ufffdx')).toBe(true);
    expect(JSON.parse(back[0]!.features as string)).toEqual(rows[0]);

    const metrics = createServingMetrics(false);
    const alerts: string[] = [];
    const full = new PredictionLog(
      { dir: await mkdtemp(join(tmpdir(), 'sluice-plog-')), maxBufferedRows: 3, flushRows: 3 },
      pino({ level: 'error' }, { write: (line: string) => void alerts.push(line) }),
      metrics,
    );
    full.appendScored(model, 'production', 'req-2', rows, predictions, 1_765_000_000_000);
    await full.close();
    expect(await metrics.registry.metrics()).toContain(
      'sluice_prediction_log_rows_dropped_total{model="churn",reason="buffer-full"} 3',
    );
    const loss = alerts
      .map((l) => JSON.parse(l) as { alert?: string; model?: string; rows?: number })
      .filter((a) => a.alert === 'prediction-log-loss');
    expect(loss.map((a) => [a.model, a.rows])).toEqual([['churn', 3]]);
  });
  it('by default cuts a file at half a small memory bound, so rows still fit while it is written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-plog-'));
    const metrics = createServingMetrics(false);
    const log = new PredictionLog({ dir, maxBufferedRows: 10 }, pino({ level: 'silent' }), metrics);
    const model = { model: 'churn', version: 1 };
    const rows = Array.from({ length: 5 }, (_, a) => ({ a }));
    log.appendScored(model, 'production', 'r1', rows, [0.1, 0.2, 0.3, 0.4, 0.5], 1_765_000_000_000);
    // Five rows are half the bound: a file is cut at once, and is still being written (in memory
    // too) when the next five arrive, which fit and make the second file.
    log.appendScored(model, 'production', 'r2', rows, [], 1_765_000_000_001);
    await log.close();
    expect((await readdir(join(dir, 'churn'))).filter((f) => f.endsWith('.parquet'))).toHaveLength(2);
    expect(await metrics.registry.metrics()).not.toContain('reason="buffer-full"} ');
  });
});
