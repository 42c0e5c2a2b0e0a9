import type { z } from 'zod';
import type { ArtifactFormat, ArtifactKind, ArtifactRef, ColumnSchema } from './artifact.js';
import type { JsonValue } from './json.js';
import type { RunContext } from './step.js';

/** A step name: what a pipeline step names as its `activity`. */
export const stepNamePattern = /^[a-zA-Z][a-zA-Z0-9]*$/;

/** A task queue a step may declare: Temporal's own limits, kept to printable names. */
export const queueNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** The pools every Sluice worker polls; a step's `queue` names one of them or any other task queue. */
export const builtinQueues = ['orchestration', 'train'] as const;

/** Largest JSON output a step may return (rows belong in an artifact, docs/architecture.md decision 2). */
export const maxStepOutputBytes = 64 * 1024;

/** A DuckDB connection as a step sees it: enough to run SQL and read results, no engine types leak. */
export interface StepDatabase {
  /** Run a statement. */
  run(sql: string): Promise<unknown>;
  /** Run a query and return its rows as plain objects (keep it small: rows go into artifacts). */
  all(sql: string): Promise<Record<string, JsonValue>[]>;
}

/** What a step stores: the store fills in sha256, bytes, uri and which run and step made it. */
export interface StepArtifactMeta {
  kind: ArtifactKind;
  /** Rows, for tabular artifacts. */
  rows?: number;
  schema?: ColumnSchema[];
}

/** The content-addressed artifact store, as a step writes to it. */
export interface StepArtifacts {
  /** Store a finished file (consumed: it is moved into the store). */
  put(path: string, meta: StepArtifactMeta & { format: ArtifactFormat }): Promise<ArtifactRef>;
  /** Store a JSON value. */
  putJson(value: JsonValue, meta: StepArtifactMeta): Promise<ArtifactRef>;
  /** Run `sql` in `db` and store its result as a Parquet dataset, with rows and schema recorded. */
  putQuery(db: StepDatabase, sql: string, meta?: Partial<StepArtifactMeta>): Promise<ArtifactRef>;
  /** A verified local path to a stored artifact's bytes. */
  open(ref: ArtifactRef): Promise<string>;
}

/** A logger that lands in the worker's log with the run, step and attempt attached. */
export interface StepLog {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** What `run` receives. */
export interface StepContext<P> {
  /** The step's params, parsed by its schema (defaults filled in, `{ $param }` already resolved). */
  params: P;
  /** The outputs of the steps it `needs`, by step id: JSON, with datasets as {@link ArtifactRef}s. */
  inputs: Record<string, JsonValue>;
  /** The run's parameters. */
  runParams: Record<string, string | number | boolean>;
  /** Which run and step this attempt belongs to. */
  run: RunContext & { step: string; attempt: number };
  artifacts: StepArtifacts;
  /**
   * Open DuckDB with one view per entry of `views` (an ArtifactRef, the sha256 of a stored artifact,
   * or a path inside SLUICE_DATA_ROOTS), run `fn`, and close it. Only those files can be read.
   */
  withDuckDB<T>(views: Record<string, JsonValue>, fn: (db: StepDatabase) => Promise<T>): Promise<T>;
  /** Report progress; a retried attempt reads the last details back as `checkpoint`. */
  heartbeat(details?: JsonValue): void;
  /** The previous attempt's last heartbeat details, if any. */
  checkpoint: JsonValue | undefined;
  log: StepLog;
  /** Aborted when the run is cancelled or the attempt times out: pass it on, or check it in loops. */
  signal: AbortSignal;
}

/** A user's own step, made by {@link defineStep}; a worker registers it under `name`. */
export interface StepDefinition<S extends z.ZodType = z.ZodType> {
  readonly kind: 'sluice.step';
  readonly name: string;
  readonly params: S;
  /** A task queue this step is also served on (besides `orchestration` and `train`). */
  readonly queue: string | undefined;
  /** Runs as a local activity where the workflow runs (short steps that move no data). */
  readonly local: boolean;
  readonly description: string | undefined;
  readonly run: (ctx: StepContext<z.output<S>>) => Promise<JsonValue>;
}

export interface StepConfig<S extends z.ZodType> {
  /** What pipelines write as `activity`, e.g. `joinAirports`. Must not be a built-in step's name. */
  name: string;
  /** A zod schema for the step's params: checked by `sluice run` before the run starts, and again by the worker. */
  params: S;
  /** Its own task queue: a worker started with this step also polls it. Default: Sluice's pools only. */
  queue?: string;
  /**
   * A short step that moves no data (a lookup, a call to a service, a small JSON result): run it as a
   * local activity on the worker that runs the pipeline's workflow, saving two task round trips through
   * the server. Its result is still recorded in the run's history; it has no heartbeats (no checkpoint
   * to resume from), and an attempt that was not recorded when its worker died runs again. Only on the
   * `orchestration` queue (a pipeline step may still say `local: false`). Default: false.
   */
  local?: boolean;
  description?: string;
  /** The step's work. Return small JSON (artifact refs, counts); rows go through `ctx.artifacts`. */
  run: (ctx: StepContext<z.output<S>>) => Promise<JsonValue>;
}

/**
 * Define a step of your own. Export it from a module and start a worker with `--steps <module>`;
 * pipelines name it as `activity: '<name>'`.
 *
 * @throws Error naming the step when the name or queue is not usable.
 */
export function defineStep<S extends z.ZodType>(config: StepConfig<S>): StepDefinition<S> {
  if (!stepNamePattern.test(config.name)) {
    throw new TypeError(
      `defineStep: name "${config.name}" must be letters and digits, starting with a letter (e.g. joinAirports)`,
    );
  }
  if (config.queue !== undefined && !queueNamePattern.test(config.queue)) {
    throw new TypeError(
      `defineStep "${config.name}": queue "${config.queue}" must be letters, digits, ".", "_" or "-"`,
    );
  }
  return Object.freeze({
    kind: 'sluice.step' as const,
    name: config.name,
    params: config.params,
    queue: config.queue,
    local: config.local ?? false,
    description: config.description,
    run: config.run,
  });
}

/** Whether a module export is a step made by {@link defineStep}. */
export function isStepDefinition(value: unknown): value is StepDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'sluice.step' &&
    typeof (value as { run?: unknown }).run === 'function'
  );
}
