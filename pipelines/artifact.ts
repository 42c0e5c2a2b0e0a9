/**
 * How steps exchange data (docs/architecture.md decision 2): by reference, never by value. An `ArtifactRef` is
 * small JSON that fits in a Temporal payload; the bytes live in the content-addressed artifact store
 * under their sha256. Sandbox-safe: workflows read refs to make decisions and pass them on.
 *
 * Declared as type aliases (not interfaces) so they are assignable to `JsonValue`: step activities
 * return refs inside their JSON output without casts.
 */
export type ArtifactRef = {
  /**
   * The store-neutral address `sluice://sha256/<hash>`: names the bytes, never a host path or bucket,
   * so a history is portable between machines and stores. Resolve it through the artifact store.
   */
  uri: string;
  /** Hex sha256 of the bytes; every read verifies it. */
  sha256: string;
  kind: ArtifactKind;
  format: ArtifactFormat;
  /** Rows, for tabular artifacts. */
  rows?: number;
  bytes: number;
  /** Columns, for tabular artifacts. */
  schema?: ColumnSchema[];
};

export type ColumnSchema = {
  name: string;
  /** DuckDB type name, e.g. `BIGINT`, `DOUBLE`, `VARCHAR`, `TIMESTAMP`. */
  type: string;
};

export type ArtifactKind =
  | 'dataset'
  | 'statistics'
  | 'validation'
  | 'drift'
  | 'report'
  | 'contract'
  | 'model'
  | 'checkpoint'
  | 'evaluation'
  | 'model-card'
  | 'prediction-log';

export type ArtifactFormat = 'parquet' | 'json' | 'html' | 'md' | 'svg' | 'tfjs' | 'tar';

/**
 * Which run and step made an artifact: recorded in its sidecar so an auditor can walk from any file in
 * the store back to the workflow history that produced it.
 */
export type ArtifactProducer = {
  workflowId: string;
  runId: string;
  step: string;
};

/**
 * The JSON record stored beside every artifact (`<sha>.meta.json`). It repeats what the ref says and adds
 * provenance, so the store can be audited without the workflow histories at hand.
 */
export type ArtifactSidecar = {
  sha256: string;
  bytes: number;
  kind: ArtifactKind;
  format: ArtifactFormat;
  rows?: number;
  schema?: ColumnSchema[];
  /** The run/step that first stored these bytes; `null` when stored outside a run (`sluice ingest`). */
  producer: ArtifactProducer | null;
  /** ISO-8601 time the bytes were first stored. */
  createdAt: string;
};
