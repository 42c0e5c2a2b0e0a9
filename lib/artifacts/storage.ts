import type {
  ArtifactFormat,
  ArtifactKind,
  ArtifactProducer,
  ArtifactRef,
  ArtifactSidecar,
  ColumnSchema,
} from '../../pipelines/artifact.js';
import type { JsonValue } from '../../pipelines/json.js';

/** What a writer says about the bytes it hands to the store; the store adds sha256, bytes and uri. */
export interface ArtifactMeta {
  kind: ArtifactKind;
  format: ArtifactFormat;
  /** Rows, for tabular artifacts. */
  rows?: number;
  /** Columns, for tabular artifacts. */
  schema?: ColumnSchema[];
  /** The run/step storing it; leave out outside a run (e.g. `sluice ingest`). */
  producer?: ArtifactProducer;
}

/**
 * The artifact store as steps see it (docs/architecture.md decisions 2 and 3): bytes go in, an {@link ArtifactRef}
 * comes out, addressed by sha256, and every read proves the bytes are still the ones stored.
 *
 * Written against local paths on purpose: DuckDB and apache-arrow read files, so an object-store
 * implementation would stage uploads in a local directory ({@link withStagingFile}) and download into a
 * verified local cache ({@link open}). Nothing here exposes the local layout beyond `ref.uri`.
 */
export interface ArtifactStorage {
  /**
   * Give `fn` a fresh path, on the store's own filesystem, to write an artifact to (e.g. DuckDB
   * `COPY … TO`), then remove whatever is left there when `fn` returns or throws. Call
   * {@link putFile} inside `fn` to keep the file; a failure part-way through leaves nothing behind.
   */
  withStagingFile<T>(format: ArtifactFormat, fn: (path: string) => Promise<T>): Promise<T>;

  /**
   * Move the finished file at `path` into the store under its sha256 (the file is consumed). Durable and
   * atomic: fsync, then rename into place. If the same bytes are already stored, this is a no-op that
   * returns the existing ref and keeps the first producer's sidecar.
   */
  putFile(path: string, meta: ArtifactMeta): Promise<ArtifactRef>;

  /** Store bytes held in memory (small artifacts: reports, model cards). */
  putBytes(bytes: Uint8Array, meta: ArtifactMeta): Promise<ArtifactRef>;

  /** Store bytes as they are produced, hashing on the way; if `chunks` throws, nothing is stored. */
  putStream(
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    meta: ArtifactMeta,
  ): Promise<ArtifactRef>;

  /** Store a JSON value as pretty-printed UTF-8 (`format: 'json'`); equal text gives an equal ref. */
  putJson(value: JsonValue, meta: Omit<ArtifactMeta, 'format'>): Promise<ArtifactRef>;

  /**
   * A local path to the artifact's bytes, after verifying they hash to `ref.sha256`.
   *
   * @throws ArtifactIntegrityError when the bytes are missing, truncated or changed.
   */
  open(ref: ArtifactRef): Promise<string>;

  /** Verify the stored bytes against `ref.sha256` (size first, then the full hash). */
  verify(ref: ArtifactRef): Promise<void>;

  /** The artifact's bytes, verified in memory (no window between check and read). */
  readBytes(ref: ArtifactRef): Promise<Buffer>;

  /** The artifact parsed as JSON, verified first. */
  readJson<T extends JsonValue = JsonValue>(ref: ArtifactRef): Promise<T>;

  /** The sidecar: kind, format, rows, schema, producing run/step and creation time. */
  describe(ref: ArtifactRef | string): Promise<ArtifactSidecar>;

  /** Whether bytes with this sha256 are in the store (cheap: no hashing). */
  has(ref: ArtifactRef | string): Promise<boolean>;
}
