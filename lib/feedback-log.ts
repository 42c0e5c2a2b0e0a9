import { appendFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sqlString, withDuckDB } from './duckdb.js';
import { ServingRequestError } from './http-error.js';
import type { SharedLogs } from './shared-logs.js';

/** Feedback lives beside the per-model prediction logs; model names cannot start with `_`. */
export const feedbackDirName = '_feedback';

/** One ground-truth label for a logged prediction, as `POST /v1/feedback` receives it. */
export interface FeedbackRecord {
  requestId: string;
  /** Which instance of the request (default 0: single-row requests). */
  instance: number;
  label: string | number | boolean;
  receivedAt: string;
}

/**
 * Check a feedback body: `{ requestId, label, instance? }`.
 *
 * @throws ServingRequestError (400) naming the field and what it must be.
 */
export function parseFeedback(body: unknown): Omit<FeedbackRecord, 'receivedAt'> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('the body must be a JSON object: {"requestId": "...", "label": 1}');
  }
  const { requestId, label, instance = 0, ...extra } = body as Record<string, unknown>;
  const unknown = Object.keys(extra);
  if (unknown.length > 0)
    throw bad(`unknown field "${unknown[0]}"; send requestId, label and optionally instance`);
  if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 200) {
    throw bad('"requestId" must be the non-empty string a predict response returned as requestId');
  }
  if (
    typeof label !== 'string' &&
    typeof label !== 'boolean' &&
    !(typeof label === 'number' && Number.isFinite(label))
  ) {
    throw bad('"label" must be the observed outcome: a number, string or boolean');
  }
  if (typeof instance !== 'number' || !Number.isInteger(instance) || instance < 0) {
    throw bad('"instance" must be the index of the instance in the predict request (an integer ≥ 0)');
  }
  return { requestId, instance, label };
}

/**
 * Ground truth arriving after the fact. Stored as its own NDJSON files (one per UTC day, appended by
 * one writer chain) rather than by rewriting prediction files: Parquet is immutable, and the join by
 * request id happens when the log is read ({@link readLabeledPredictions}).
 */
export class FeedbackLog {
  private chain: Promise<void> = Promise.resolve();

  /**
   * With `shared` (an S3 store), each day's file is published after every append as
   * `prediction-log/_feedback/<day>-<replica>.ndjson`, so the monitor on any worker joins it.
   */
  constructor(
    private readonly logDir: string,
    private readonly shared?: SharedLogs,
    private readonly replica = 'local',
  ) {}

  /** Append one label; resolves once it is written (the caller answers 202 only then). */
  append(feedback: Omit<FeedbackRecord, 'receivedAt'>): Promise<void> {
    const record: FeedbackRecord = { ...feedback, receivedAt: new Date().toISOString() };
    const dir = join(this.logDir, feedbackDirName);
    const file = join(dir, `${record.receivedAt.slice(0, 10)}.ndjson`);
    const line = `${JSON.stringify({ ...record, label: JSON.stringify(record.label) })}\n`;
    const day = record.receivedAt.slice(0, 10);
    const write = this.chain.then(async () => {
      await mkdir(dir, { recursive: true });
      await appendFile(file, line);
      await this.shared?.publish(`prediction-log/${feedbackDirName}/${day}-${this.replica}.ndjson`, file);
    });
    this.chain = write.catch(() => undefined);
    return write;
  }
}

/** A logged prediction with its label, when feedback arrived for it. */
export interface LabeledPrediction {
  requestId: string;
  instance: number;
  version: number;
  role: string;
  time: string;
  features: Record<string, unknown>;
  prediction: unknown;
  score: number | null;
  /** The latest label sent for this request and instance, or null. */
  label: string | number | boolean | null;
}

/**
 * Read a model's prediction log joined with its feedback by request id and instance: what the monitor
 * workflow measures live performance and drift on. Shadow rows are left out (nobody saw them).
 */
export async function readLabeledPredictions(logDir: string, model: string): Promise<LabeledPrediction[]> {
  const predictionDir = join(logDir, model);
  const files = await listed(predictionDir, '.parquet');
  if (files.length === 0) return [];
  const feedback = await listed(join(logDir, feedbackDirName), '.ndjson');
  const labels =
    feedback.length === 0
      ? `(SELECT NULL::VARCHAR AS request_id, NULL::INTEGER AS instance, NULL::VARCHAR AS label WHERE false)`
      : `(SELECT requestId AS request_id, instance, arg_max(label, receivedAt) AS label FROM read_json([${feedback.map((f) => sqlString(join(logDir, feedbackDirName, f))).join(', ')}], columns = {requestId: 'VARCHAR', instance: 'INTEGER', label: 'VARCHAR', receivedAt: 'VARCHAR'}) GROUP BY ALL)`;
  return withDuckDB(async (db) => {
    const reader = await db.runAndReadAll(
      `SELECT p.request_id, p.instance, p.version, p.role, strftime(p.time, '%Y-%m-%dT%H:%M:%S.%gZ') AS time, p.features, p.prediction, p.score, f.label
       FROM read_parquet([${files.map((f) => sqlString(join(predictionDir, f))).join(', ')}]) p
       LEFT JOIN ${labels} f ON f.request_id = p.request_id AND f.instance = p.instance
       WHERE p.role <> 'shadow' ORDER BY p.time, p.request_id, p.instance`,
    );
    return reader.getRowObjectsJS().map((row) => {
      const r = row as Record<string, string | number | null>;
      return {
        requestId: String(r['request_id']),
        instance: Number(r['instance']),
        version: Number(r['version']),
        role: String(r['role']),
        time: String(r['time']),
        features: JSON.parse(String(r['features'])) as Record<string, unknown>,
        prediction: JSON.parse(String(r['prediction'])) as unknown,
        score: r['score'] === null ? null : Number(r['score']),
        label: r['label'] === null ? null : (JSON.parse(String(r['label'])) as string | number | boolean),
      };
    });
  });
}

async function listed(dir: string, extension: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith(extension) && !f.startsWith('.')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function bad(message: string): ServingRequestError {
  return new ServingRequestError(400, 'INVALID_FEEDBACK', message);
}
