/**
 * How steps exchange data (DESIGN.md decision 2): by reference, never by value. An `ArtifactRef` is
 * small JSON that fits in a Temporal payload; the bytes live in the content-addressed artifact store
 * under their sha256. Sandbox-safe: workflows read refs to make decisions and pass them on.
 */
export interface ArtifactRef {
  /** Where the bytes are, e.g. `file:///…/.sluice/artifacts/ab/abcd….parquet`. */
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
}

export interface ColumnSchema {
  name: string;
  /** DuckDB type name, e.g. `BIGINT`, `DOUBLE`, `VARCHAR`, `TIMESTAMP`. */
  type: string;
}

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
