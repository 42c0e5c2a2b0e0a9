import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { labelPredictions } from '../lib/model/prediction-format.js';
import type { LoadedModel, Prediction } from '../lib/model/loaded-model.js';
import type { ServingServer } from '../serving/server.js';
import { PredictionLog } from '../lib/prediction-log.js';
import { predictAnswerJson } from '../serving/predict-answer.js';
import { validateInstances } from '../serving/validate-instances.js';
import { versionSeries } from '../serving/metrics.js';

/** Microseconds per request of one stage of the predict path. */
export interface StageCost {
  stage: string;
  us: number;
}

/**
 * Where a predict request's time goes, stage by stage, in this process (no HTTP): the body's JSON,
 * reading and checking the instances (with the derived features), the transform and the network
 * (one call per request, and one call for 32 single-row requests batched as serving does under load),
 * labelling, the prediction-log lines, the metrics and the answer's JSON (labelled objects and
 * JSON.stringify as before, and written by hand as serving does now). The HTTP rows of the
 * bench hold what Fastify itself costs. These rows time the TypeScript sources (as tsx loads them),
 * while the HTTP rows serve the compiled dist/ when it is current.
 */
export function measureStages(server: ServingServer, model: LoadedModel, body: string): StageCost[] {
  const parsed = JSON.parse(body) as unknown;
  const rows = validateInstances(parsed, model.manifest);
  const predictions = model.predict(rows);
  const series = versionSeries(server.metrics)(model);
  const label = model.manifest.transform.label;
  const batch32 = Array.from({ length: 32 }, () => rows).flat();
  // A log of its own that is never flushed (no file is written): what a request's append costs.
  const lines = benchLog(tmpdir());
  const answer = {
    model: model.model,
    version: model.version,
    requestId: '8a5f0c57-5a77-4bde-9d3c-5b1c1a0f6a3e',
  };
  return [
    { stage: 'parse the body (JSON.parse)', us: time(() => JSON.parse(body)) },
    {
      stage: 'read + check instances, derived features',
      us: time(() => validateInstances(parsed, model.manifest)),
    },
    { stage: 'transform (standardise, one-hot)', us: time(() => model.matrix(rows)) },
    { stage: 'transform + network, one call', us: time(() => model.predict(rows)) },
    {
      stage: 'transform + network, 32 requests in one call, per request',
      us: time(() => model.predict(batch32)) / 32,
    },
    { stage: 'label the answer', us: time(() => labelPredictions(label, predictions)) },
    {
      stage: 'prediction-log lines (appended to the buffer)',
      us: time(() => lines.appendScored(model, 'production', answer.requestId, rows, predictions, 0)),
    },
    {
      stage: 'metrics (request counter + latency histogram)',
      us: time(() => {
        series.requests.production.inc();
        series.latency.observe(0.001);
      }),
    },
    {
      stage: 'the answer: label + JSON.stringify (before)',
      us: time(() => JSON.stringify({ ...answer, predictions: labelPredictions(label, predictions) })),
    },
    {
      stage: 'the answer: written by hand (serving/predict-answer.ts)',
      us: time(() => predictAnswerJson(model, model.model, answer.requestId, predictions)),
    },
  ].map((s) => ({ stage: s.stage, us: Number(s.us.toFixed(2)) }));
}

/**
 * The prediction log's flush, CPU per row over every thread of this process (joining the lines, the
 * file DuckDB reads, DuckDB's parse and Parquet write, the fsyncs), for files of 5 000 and 20 000 rows
 * (the default): the median of 5 flushes each, of the request's rows logged as serving logs them.
 */
export async function measureFlush(
  dir: string,
  model: { model: string; version: number },
  rows: Record<string, unknown>[],
  predictions: Prediction[],
): Promise<StageCost[]> {
  const costs: StageCost[] = [];
  for (const size of [5_000, 20_000]) {
    const log = benchLog(dir);
    const perRow: number[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < size; i += rows.length) {
        log.appendScored(model, 'production', randomUUID(), rows, predictions, Date.now());
      }
      const before = process.cpuUsage();
      await log.flush();
      const used = process.cpuUsage(before);
      if (round > 0) perRow.push((used.user + used.system) / size);
    }
    await log.close();
    perRow.sort((a, b) => a - b);
    costs.push({
      stage: `prediction-log flush of ${size.toLocaleString('en-US')} rows, CPU per row (all threads)`,
      us: Number((perRow[2] as number).toFixed(2)),
    });
  }
  return costs;
}

/** A prediction log that flushes only when told to, drops nothing, and counts into nowhere. */
function benchLog(dir: string): PredictionLog {
  return new PredictionLog(
    {
      dir,
      maxBufferedRows: Number.MAX_SAFE_INTEGER,
      flushRows: Number.MAX_SAFE_INTEGER,
      flushIntervalMs: 3_600_000,
    },
    pino({ level: 'silent' }),
    { logWritten: { inc: () => undefined }, logDropped: { inc: () => undefined } },
  );
}

/** Mean microseconds per call over ~50 ms, after a warm-up as long. */
function time(f: () => unknown): number {
  const run = (ms: number) => {
    let calls = 0;
    const started = performance.now();
    while (performance.now() - started < ms) {
      for (let i = 0; i < 20; i++) f();
      calls += 20;
    }
    return ((performance.now() - started) * 1000) / calls;
  };
  run(50);
  return run(50);
}
