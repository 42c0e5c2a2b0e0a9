import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from './duckdb.js';
import type { Logger as Log } from 'pino';
import type { SharedLogs } from './shared-logs.js';

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
  /** A file is cut once this many rows are buffered (rotation by size). Default 5 000. */
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

const TABLE = 'sluice_prediction_batch';

/** Age past which a prediction-log temp file is a dead writer's leftover. */
export const staleTempMs = 10 * 60_000;

/**
 * The prediction log (docs/architecture.md: serving → prediction log → monitor). Requests only push rows into a
 * bounded in-memory buffer and never wait on the disk; a background flush writes each model's rows as
 * one Parquet file with DuckDB (appender into a temp table, `COPY` to a hidden temp file, fsync,
 * rename), so a reader only ever sees whole files. Files are never appended to: rotation is a new file
 * per flush, cut by row count or by age. When the disk is full or the buffer is, rows are lost — counted
 * in `sluice_prediction_log_rows_dropped_total` and logged — and serving keeps answering.
 */
export class PredictionLog {
  private buffer: PredictionRecord[] = [];
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
    this.flushRows = Math.min(options.flushRows ?? 5_000, this.maxBufferedRows);
    this.flushIntervalMs = options.flushIntervalMs ?? 5_000;
  }

  /** Rows in memory now (buffered and being written): never above `maxBufferedRows`. */
  get pending(): number {
    return this.buffer.length + this.writing;
  }

  /** Add rows without waiting; rows beyond the memory bound are dropped and counted. */
  append(records: PredictionRecord[]): void {
    const room = this.maxBufferedRows - this.pending;
    const kept = room >= records.length ? records : records.slice(0, Math.max(0, room));
    if (kept.length < records.length) this.dropped(records.slice(kept.length), 'buffer-full', null);
    this.buffer.push(...kept);
    if (this.buffer.length >= this.flushRows) void this.flush();
    else if (this.buffer.length > 0 && this.timer === null) {
      this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Write everything buffered now; resolves when it is on disk (or counted as lost). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return this.chain;
    this.writing += batch.length;
    this.chain = this.chain.then(async () => {
      try {
        await this.write(batch);
      } finally {
        this.writing -= batch.length;
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

  private async write(batch: PredictionRecord[]): Promise<void> {
    const byModel = new Map<string, PredictionRecord[]>();
    for (const r of batch) byModel.set(r.model, [...(byModel.get(r.model) ?? []), r]);
    for (const [model, rows] of byModel) {
      const dir = join(this.options.dir, model);
      const name = `${new Date().toISOString().replace(/[-:.]/g, '')}-${String(this.sequence++).padStart(6, '0')}-${randomBytes(3).toString('hex')}.parquet`;
      const temp = join(dir, `.${name}.tmp`);
      try {
        await mkdir(dir, { recursive: true });
        if (!this.swept.has(dir)) {
          this.swept.add(dir);
          await this.sweepStaleTemps(dir);
        }
        const db = await this.connection();
        await db.run(
          `CREATE OR REPLACE TEMP TABLE ${TABLE} (request_id VARCHAR, instance INTEGER, model VARCHAR, version INTEGER, role VARCHAR, time_ms BIGINT, features VARCHAR, prediction VARCHAR, score DOUBLE)`,
        );
        const appender = await db.createAppender(TABLE);
        for (const r of rows) {
          appender.appendVarchar(r.requestId);
          appender.appendInteger(r.instance);
          appender.appendVarchar(r.model);
          appender.appendInteger(r.version);
          appender.appendVarchar(r.role);
          appender.appendBigInt(BigInt(r.timeMs));
          appender.appendVarchar(r.features);
          appender.appendVarchar(r.prediction);
          if (Number.isFinite(r.score)) appender.appendDouble(r.score);
          else appender.appendNull();
          appender.endRow();
        }
        appender.flushSync();
        appender.closeSync();
        await db.run(
          `COPY (SELECT request_id, instance, model, version, role, epoch_ms(time_ms) AS time, features, prediction, score FROM ${TABLE}) TO ${sqlString(temp)} (FORMAT parquet)`,
        );
        await db.run(`DROP TABLE ${TABLE}`);
        await fsync(temp);
        await rename(temp, join(dir, name));
        await fsync(dir);
        this.metrics.logWritten.inc({ model }, rows.length);
        if (this.options.shared) {
          this.unpublished.push({ path: `prediction-log/${model}/${name}`, file: join(dir, name), model });
        }
      } catch (error) {
        await rm(temp, { force: true }).catch(() => undefined);
        this.dropped(rows, 'write-failed', error);
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
      if (!/^\..+\.parquet\.tmp$/.test(entry)) continue;
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

  private dropped(rows: PredictionRecord[], reason: 'buffer-full' | 'write-failed', error: unknown): void {
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.model, (counts.get(r.model) ?? 0) + 1);
    for (const [model, n] of counts) {
      this.metrics.logDropped.inc({ model, reason }, n);
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
