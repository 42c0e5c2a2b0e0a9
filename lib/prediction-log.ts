import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from './duckdb.js';
import type { Logger as Log } from 'pino';
import type { SharedLogs } from './shared-logs.js';
import type { Prediction } from './model/loaded-model.js';

/** The counters the log keeps (serving's Prometheus registry provides them). */
export interface PredictionLogMetrics {
  logWritten: { inc(labels: { model: string }, value: number): void };
  logDropped: { inc(labels: { model: string; reason: string }, value: number): void };
}

/** One scored instance as the log keeps it. `features` and `prediction` are JSON text. */
export interface PredictionRecord {
  requestId: string;
  /** Index of the instance within its request. */
  instance: number;
  model: string;
  version: number;
  /** `production`, `canary`, `pinned`, or `shadow` (scored but not returned). */
  role: string;
  /** Milliseconds since the epoch. */
  timeMs: number;
  features: string;
  prediction: string;
  /** P(positive) (binary), the value (regression) or the top class probability (multi-class). */
  score: number;
}

/** Bounds of the log; every one has a default that suits a laptop. */
export interface PredictionLogOptions {
  /** `<dir>/<model>/*.parquet`. */
  dir: string;
  /** Rows held in memory (buffered plus being written) before new rows are dropped. Default 50 000. */
  maxBufferedRows?: number;
  /**
   * A file is cut once this many rows are buffered (rotation by size). Default 20 000 (at most half
   * of `maxBufferedRows`, so rows keep being buffered while a flush is written): a flush has a
   * fixed cost (the DuckDB query, the Parquet file, two fsyncs), so its CPU per row falls from ~1.9 µs
   * at 5 000 rows to ~1.3 µs at 20 000 (`npm run bench -- serving`, its flush rows), on the cores serving shares.
   */
  flushRows?: number;
  /** …or this long after the oldest buffered row (rotation by time). Default 5 000 ms. */
  flushIntervalMs?: number;
  /**
   * The S3 store's shared logs (`SLUICE_ARTIFACTS=s3://…`): each finished file is also published there
   * as `prediction-log/<model>/<file>`, so the monitor on any worker reads it. Absent: local files only.
   */
  shared?: SharedLogs | undefined;
  /** This replica's name in shared feedback files ({@link replicaName}); default `local`. */
  replica?: string | undefined;
}

/**
 * The rows a flush hands DuckDB: one line a row, its fields apart by the unit separator (U+001F), read
 * back by `read_csv` with no quoting. No field can hold that character or a line break: JSON text
 * (features, prediction) escapes every control character, numbers have none, and {@link rowLine}
 * replaces them in the strings. So the features' JSON is written once, not escaped again as a JSON
 * string inside a JSON line (what made a row cost ~2 µs of the predict path).
 */
const FIELD = '\u001f';
const ROW_COLUMNS =
  "{'r': 'VARCHAR', 'i': 'INTEGER', 'm': 'VARCHAR', 'v': 'INTEGER', 'o': 'VARCHAR', 't': 'BIGINT', 'f': 'VARCHAR', 'p': 'VARCHAR', 's': 'DOUBLE'}";

/** Age past which a prediction-log temp file is a dead writer's leftover. */
export const staleTempMs = 10 * 60_000;

/**
 * The prediction log (docs/architecture.md: serving → prediction log → monitor). Requests only push rows into a
 * bounded in-memory buffer and never wait on the disk; a background flush writes each model's rows as
 * one Parquet file with DuckDB (`COPY` from the rows' lines, {@link FIELD}-separated, to a hidden
 * temp file, fsync, rename), so a reader only ever sees whole files. Each row becomes its line when it is appended
 * (about a microsecond), so a flush only joins the lines and hands them to DuckDB, which reads and
 * writes them on its own threads: the event loop, and the requests waiting on it, never stall for
 * the thousands of rows of a flush. Files are never appended to: rotation is a new file
 * per flush, cut by row count or by age. When the disk is full or the buffer is, rows are lost — counted
 * in `sluice_prediction_log_rows_dropped_total` and logged — and serving keeps answering.
 */
export class PredictionLog {
  /** Buffered rows by model, as the lines a flush hands DuckDB. */
  private buffer = new Map<string, LineBuffer>();
  private buffered = 0;
  /** Rows dropped for a full buffer since the last alert line, by model. */
  private readonly unalerted = new Map<string, number>();
  private alertedAt = Number.NEGATIVE_INFINITY;
  private alertTimer: NodeJS.Timeout | null = null;
  private writing = 0;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private db: { instance: DuckDBInstance; connection: DuckDBConnection } | null = null;
  private sequence = 0;
  /** Finished files not yet published to the shared logs (the store was down): retried on each flush. */
  private unpublished: { path: string; file: string; model: string }[] = [];
  /** Model directories already swept of a dead writer's temp files by this process. */
  private readonly swept = new Set<string>();
  private readonly maxBufferedRows: number;
  private readonly flushRows: number;
  private readonly flushIntervalMs: number;

  constructor(
    private readonly options: PredictionLogOptions,
    private readonly log: Log,
    private readonly metrics: PredictionLogMetrics,
  ) {
    this.maxBufferedRows = options.maxBufferedRows ?? 50_000;
    // The default leaves room for a flush's rows while they are written: at most half the bound.
    this.flushRows = Math.min(
      options.flushRows ?? Math.max(1, Math.min(20_000, Math.floor(this.maxBufferedRows / 2))),
      this.maxBufferedRows,
    );
    this.flushIntervalMs = options.flushIntervalMs ?? 5_000;
  }

  /** Rows in memory now (buffered and being written): never above `maxBufferedRows`. */
  get pending(): number {
    return this.buffered + this.writing;
  }

  /** Add rows without waiting; rows beyond the memory bound are dropped and counted. */
  append(records: PredictionRecord[]): void {
    const kept = this.room(records.length);
    for (let k = 0; k < kept; k++) {
      const r = records[k] as PredictionRecord;
      this.lines(r.model).push(rowLine(r));
    }
    this.admitted(kept);
    if (kept < records.length) {
      // Counted per model, not per row: an overloaded server drops thousands a second.
      const byModel = new Map<string, number>();
      for (const r of records.slice(kept)) byModel.set(r.model, (byModel.get(r.model) ?? 0) + 1);
      for (const [model, n] of byModel) this.droppedRows(model, n);
    }
  }

  /**
   * Log one request's scored rows (what serving calls on every predict): each row's line is written
   * straight from the request's values, with no {@link PredictionRecord} in between, and the fields the
   * rows share (request, model, version, role, time) are joined once per request. Same lines as
   * {@link append} of the records would give.
   */
  appendScored(
    source: { model: string; version: number },
    role: string,
    requestId: string,
    rows: readonly Record<string, unknown>[],
    predictions: readonly Prediction[],
    timeMs: number,
  ): void {
    const kept = this.room(rows.length);
    if (kept > 0) {
      const lines = this.lines(source.model);
      const head = `${field(requestId)}${FIELD}`;
      const shared = sharedFields(source.model, source.version, role, timeMs);
      for (let i = 0; i < kept; i++) {
        lines.push(
          `${head}${i}${shared}${JSON.stringify(rows[i])}${FIELD}${predictionFields(predictions[i])}`,
        );
      }
    }
    this.admitted(kept);
    if (kept < rows.length) this.droppedRows(source.model, rows.length - kept);
  }

  /** How many of `n` new rows fit under the memory bound. */
  private room(n: number): number {
    const room = this.maxBufferedRows - this.pending;
    return room >= n ? n : Math.max(0, room);
  }

  /** A model's buffered lines. */
  private lines(model: string): LineBuffer {
    let lines = this.buffer.get(model);
    if (!lines) {
      lines = new LineBuffer();
      this.buffer.set(model, lines);
    }
    return lines;
  }

  /** Count rows just buffered, and flush when enough are, or start the clock on the oldest. */
  private admitted(kept: number): void {
    this.buffered += kept;
    if (this.buffered >= this.flushRows) void this.flush();
    else if (this.buffered > 0 && this.timer === null) {
      this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Write everything buffered now; resolves when it is on disk (or counted as lost). */
  flush(): Promise<void> {
    if (this.unalerted.size > 0) this.alertDrops();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffer;
    const rows = this.buffered;
    this.buffer = new Map();
    this.buffered = 0;
    if (rows === 0) return this.chain;
    this.writing += rows;
    this.chain = this.chain.then(async () => {
      try {
        await this.write(batch);
      } finally {
        this.writing -= rows;
      }
    });
    return this.chain;
  }

  /** Flush and release DuckDB. */
  async close(): Promise<void> {
    await this.flush();
    if (this.db) {
      this.db.connection.closeSync();
      this.db.instance.closeSync();
      this.db = null;
    }
  }

  private async write(batch: Map<string, LineBuffer>): Promise<void> {
    for (const [model, lines] of batch) {
      const dir = join(this.options.dir, model);
      const name = `${new Date().toISOString().replace(/[-:.]/g, '')}-${String(this.sequence++).padStart(6, '0')}-${randomBytes(3).toString('hex')}.parquet`;
      const temp = join(dir, `.${name}.tmp`);
      const rowsFile = join(dir, `.${name}.rows.tmp`);
      try {
        await mkdir(dir, { recursive: true });
        if (!this.swept.has(dir)) {
          this.swept.add(dir);
          await this.sweepStaleTemps(dir);
        }
        await writeFile(rowsFile, lines.bytes());
        const db = await this.connection();
        await db.run(
          `COPY (SELECT r AS request_id, i AS instance, m AS model, v AS version, o AS role, epoch_ms(t) AS time, f AS features, p AS prediction, s AS score FROM read_csv(${sqlString(rowsFile)}, delim = '${FIELD}', quote = '', escape = '', header = false, auto_detect = false, columns = ${ROW_COLUMNS})) TO ${sqlString(temp)} (FORMAT parquet)`,
        );
        await rm(rowsFile, { force: true });
        await fsync(temp);
        await rename(temp, join(dir, name));
        await fsync(dir);
        this.metrics.logWritten.inc({ model }, lines.rows);
        if (this.options.shared) {
          this.unpublished.push({ path: `prediction-log/${model}/${name}`, file: join(dir, name), model });
        }
      } catch (error) {
        await rm(temp, { force: true }).catch(() => undefined);
        await rm(rowsFile, { force: true }).catch(() => undefined);
        this.dropped(model, lines.rows, 'write-failed', error);
      }
    }
    await this.publish();
  }

  /**
   * Publish finished files to the shared logs. A failure keeps them local and queued for the next flush:
   * nothing is lost, the monitor on other machines sees them later; it is logged as an alert.
   */
  private async publish(): Promise<void> {
    const shared = this.options.shared;
    if (!shared) return;
    while (this.unpublished.length > 0) {
      const next = this.unpublished[0] as { path: string; file: string; model: string };
      try {
        await shared.publish(next.path, next.file);
        this.unpublished.shift();
      } catch (error) {
        this.log.error(
          { alert: 'prediction-log-unpublished', model: next.model, file: next.file, err: error },
          `prediction log file ${next.file} is not yet published to ${shared.where} (${(error as Error).message}); kept on this machine and retried on the next flush`,
        );
        return;
      }
    }
  }

  /**
   * Remove hidden temp files a killed writer left (a flush takes seconds; one older than
   * {@link staleTempMs} belongs to no live writer). Readers never see them; this only stops them piling up.
   */
  private async sweepStaleTemps(dir: string): Promise<void> {
    const now = Date.now();
    const removed: string[] = [];
    for (const entry of await readdir(dir)) {
      if (!/^\..+\.parquet(\.ndjson|\.rows)?\.tmp$/.test(entry)) continue;
      const path = join(dir, entry);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > staleTempMs) {
        await rm(path, { force: true });
        removed.push(entry);
      }
    }
    if (removed.length > 0) {
      this.log.warn({ dir, removed }, 'removed temp files a stopped prediction-log writer left behind');
    }
  }

  /**
   * Rows refused because the buffer is full: counted at once, alerted at most once a second per model
   * (summing the rows since the last alert) so an overloaded server does not write a log line per
   * request; the rest goes out a second after the last alert, or with the next flush if sooner.
   */
  private droppedRows(model: string, n: number): void {
    const now = performance.now();
    this.metrics.logDropped.inc({ model, reason: 'buffer-full' }, n);
    this.unalerted.set(model, (this.unalerted.get(model) ?? 0) + n);
    if (now - this.alertedAt >= 1_000) this.alertDrops(now);
    else if (this.alertTimer === null) {
      this.alertTimer = setTimeout(() => this.alertDrops(), 1_000 - (now - this.alertedAt));
      this.alertTimer.unref();
    }
  }

  private alertDrops(now = performance.now()): void {
    if (this.alertTimer) clearTimeout(this.alertTimer);
    this.alertTimer = null;
    this.alertedAt = now;
    for (const [model, n] of this.unalerted) this.alert(model, n, 'buffer-full', null);
    this.unalerted.clear();
  }

  private dropped(model: string, n: number, reason: 'write-failed', error: unknown): void {
    this.metrics.logDropped.inc({ model, reason }, n);
    this.alert(model, n, reason, error);
  }

  private alert(model: string, n: number, reason: 'buffer-full' | 'write-failed', error: unknown): void {
    this.log.error(
      {
        alert: 'prediction-log-loss',
        model,
        rows: n,
        reason,
        dir: this.options.dir,
        err: error ?? undefined,
      },
      reason === 'buffer-full'
        ? `prediction log buffer full (${this.maxBufferedRows} rows): ${n} rows of ${model} not logged; the disk is slower than traffic — raise the bound or check ${this.options.dir}`
        : `prediction log write failed: ${n} rows of ${model} not logged (disk full or unwritable?); serving continues — free space in ${this.options.dir}`,
    );
  }

  private async connection(): Promise<DuckDBConnection> {
    if (!this.db) {
      const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
      this.db = { instance, connection: await instance.connect() };
    }
    return this.db.connection;
  }
}

async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * One model's buffered lines: UTF-8 in 256 KiB buffers outside the JavaScript heap, copied there 32
 * lines at a time. A line held as a string until its flush, seconds later, outlives the young
 * generation and is copied into the old one: at thousands of requests a second that collection cost
 * more than the rest of what a predict does beyond bare Fastify. A line written to a buffer on its own
 * costs a call into C++ per request; joined with its neighbours first it costs one per 32, and 32
 * lines (about a millisecond of traffic) are copied before a young-generation collection would move them.
 */
class LineBuffer {
  private static readonly chunkBytes = 256 * 1024;
  private static readonly linesPerCopy = 32;
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.allocUnsafeSlow(LineBuffer.chunkBytes);
  private used = 0;
  private pending: string[] = [];
  rows = 0;

  push(line: string): void {
    this.pending.push(line);
    this.rows++;
    if (this.pending.length >= LineBuffer.linesPerCopy) this.copy();
  }

  /** Every line, each ending in a newline. */
  bytes(): Buffer {
    this.copy();
    return Buffer.concat([...this.chunks, this.chunk.subarray(0, this.used)]);
  }

  private copy(): void {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const most = text.length * 3;
    if (this.used + most > this.chunk.length) {
      this.chunks.push(this.chunk.subarray(0, this.used));
      this.chunk = Buffer.allocUnsafeSlow(Math.max(LineBuffer.chunkBytes, most));
      this.used = 0;
    }
    this.used += this.chunk.write(text, this.used);
  }
}

/** One record as the line a flush hands DuckDB ({@link ROW_COLUMNS}); a non-finite score is empty (NULL). */
function rowLine(r: PredictionRecord): string {
  // A number prediction's JSON is its score's text already (a class list's score is its largest).
  const score = !Number.isFinite(r.score)
    ? ''
    : r.prediction.charCodeAt(0) === 0x5b
      ? String(r.score)
      : r.prediction;
  return `${field(r.requestId)}${FIELD}${r.instance}${sharedFields(r.model, r.version, r.role, r.timeMs)}${r.features}${FIELD}${r.prediction}${FIELD}${score}`;
}

/** The fields between a line's instance and its features, separators on both sides: the same for every row of a request. */
function sharedFields(model: string, version: number, role: string, timeMs: number): string {
  return `${FIELD}${field(model)}${FIELD}${version}${FIELD}${field(role)}${FIELD}${timeMs}${FIELD}`;
}

/**
 * A prediction's last two fields, its JSON and its score: a number is both (`String(p)` is its JSON for
 * a finite number, and hits V8's number-string cache when the answer wrote the same number); a class
 * list's score is its largest probability; a missing or non-finite number is `null` with no score.
 */
function predictionFields(p: Prediction | undefined): string {
  if (typeof p === 'number') {
    if (!Number.isFinite(p)) return `null${FIELD}`;
    const text = String(p);
    return `${text}${FIELD}${text}`;
  }
  if (p === undefined) return `null${FIELD}`;
  const top = Math.max(...p);
  return `${JSON.stringify(p)}${FIELD}${Number.isFinite(top) ? String(top) : ''}`;
}

/**
 * A string field as the line holds it. A request id (a header, or a UUID), a model name and a role never
 * hold the field separator or a line break (HTTP refuses control characters in headers); should one
 * ever, it is written as U+FFFD rather than break the file.
 */
function field(text: string): string {
  if (!text.includes(FIELD) && !text.includes('\n') && !text.includes('\r')) return text;
  return text.replaceAll(FIELD, '\ufffd').replaceAll('\n', '\ufffd').replaceAll('\r', '\ufffd');
}
