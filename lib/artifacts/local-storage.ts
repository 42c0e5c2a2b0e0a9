import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { ArtifactFormat, ArtifactRef, ArtifactSidecar } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { JsonValue } from '../../pipelines/json.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { sha256File } from '../hash.js';
import { ArtifactIntegrityError } from './integrity-error.js';
import { StoreLayout, artifactAddress, checkedSha, extensionOf } from './layout.js';
import type { ArtifactMeta, ArtifactStorage } from './storage.js';

/**
 * The artifact store on a local disk, under `<SLUICE_HOME>/artifacts/` (layout in {@link StoreLayout}).
 *
 * Every write goes to `.staging/` first, is fsynced, then renamed into its content address, and the
 * directory is fsynced: a crash at any point leaves either no artifact or the whole one, never half.
 * Every read re-hashes the bytes, so a flipped bit or an edited file is refused rather than trained on.
 */
export class LocalArtifactStorage implements ArtifactStorage {
  readonly layout: StoreLayout;

  constructor(root: string) {
    this.layout = new StoreLayout(root);
  }

  async withStagingFile<T>(format: ArtifactFormat, fn: (path: string) => Promise<T>): Promise<T> {
    const path = await this.stagingPath(format);
    try {
      return await fn(path);
    } finally {
      await rm(path, { force: true });
    }
  }

  async putFile(path: string, meta: ArtifactMeta): Promise<ArtifactRef> {
    extensionOf(meta.format);
    const staged = await this.adopt(path, meta.format);
    try {
      await fsyncPath(staged);
      const { sha256, bytes } = await sha256File(staged);
      return await this.commit(staged, sha256, bytes, meta);
    } finally {
      await rm(staged, { force: true });
    }
  }

  async putBytes(bytes: Uint8Array, meta: ArtifactMeta): Promise<ArtifactRef> {
    return this.putStream([bytes], meta);
  }

  async putStream(
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    meta: ArtifactMeta,
  ): Promise<ArtifactRef> {
    extensionOf(meta.format);
    const staged = await this.stagingPath(meta.format);
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      const file = await open(staged, 'wx');
      try {
        for await (const chunk of chunks) {
          hash.update(chunk);
          bytes += chunk.byteLength;
          await file.write(chunk);
        }
        await file.sync();
      } finally {
        await file.close();
      }
      return await this.commit(staged, hash.digest('hex'), bytes, meta);
    } finally {
      await rm(staged, { force: true });
    }
  }

  async putJson(value: JsonValue, meta: Omit<ArtifactMeta, 'format'>): Promise<ArtifactRef> {
    const text = `${JSON.stringify(value, null, 2)}\n`;
    return this.putBytes(Buffer.from(text, 'utf8'), { ...meta, format: 'json' });
  }

  async open(ref: ArtifactRef): Promise<string> {
    await this.verify(ref);
    return this.layout.data(ref.sha256, ref.format);
  }

  async verify(ref: ArtifactRef): Promise<void> {
    const path = this.layout.data(checkedSha(ref.sha256), ref.format);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      if (isMissing(error)) throw await this.integrityError(ref, path, 'is missing from the store');
      throw error;
    }
    if (size !== ref.bytes) {
      throw await this.integrityError(
        ref,
        path,
        `has ${size} bytes, not the ${ref.bytes} it was stored with`,
      );
    }
    const { sha256 } = await sha256File(path);
    if (sha256 !== ref.sha256) {
      throw await this.integrityError(ref, path, `now hashes to ${sha256}`);
    }
  }

  async readBytes(ref: ArtifactRef): Promise<Buffer> {
    const path = this.layout.data(checkedSha(ref.sha256), ref.format);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (error) {
      if (isMissing(error)) throw await this.integrityError(ref, path, 'is missing from the store');
      throw error;
    }
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== ref.sha256) throw await this.integrityError(ref, path, `now hashes to ${sha256}`);
    return data;
  }

  async readJson<T extends JsonValue = JsonValue>(ref: ArtifactRef): Promise<T> {
    const data = await this.readBytes(ref);
    return JSON.parse(data.toString('utf8')) as T;
  }

  async describe(ref: ArtifactRef | string): Promise<ArtifactSidecar> {
    const sha256 = checkedSha(typeof ref === 'string' ? ref : ref.sha256);
    const path = this.layout.sidecar(sha256);
    try {
      return JSON.parse(await readFile(path, 'utf8')) as ArtifactSidecar;
    } catch (error) {
      if (isMissing(error)) {
        throw new InvalidInputError(
          `no artifact ${sha256} in the store at ${this.layout.root} (no sidecar ${path}): check the sha256 and SLUICE_HOME`,
          { details: { sha256, sidecar: path } },
        );
      }
      throw new ArtifactIntegrityError(
        `the sidecar of artifact ${sha256} (${path}) is unreadable: ${(error as Error).message}; ` +
          'delete it and store the artifact again (re-run the step that produced it)',
        { cause: error, details: { sha256, sidecar: path } },
      );
    }
  }

  async has(ref: ArtifactRef | string): Promise<boolean> {
    try {
      const sidecar = await this.describe(ref);
      await stat(this.layout.data(sidecar.sha256, sidecar.format));
      return true;
    } catch (error) {
      if (error instanceof InvalidInputError || isMissing(error)) return false;
      throw error;
    }
  }

  /** A fresh, unused path in `.staging/` (same filesystem as the store, so the final rename is atomic). */
  private async stagingPath(format: ArtifactFormat): Promise<string> {
    await mkdir(this.layout.staging, { recursive: true });
    return join(this.layout.staging, `${randomBytes(8).toString('hex')}.${extensionOf(format)}.partial`);
  }

  /** Bring a caller's finished file into `.staging/`: a rename when possible, else a copy. */
  private async adopt(path: string, format: ArtifactFormat): Promise<string> {
    if (dirname(path) === this.layout.staging) return path;
    const staged = await this.stagingPath(format);
    try {
      await rename(path, staged);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') {
        if (isMissing(error)) {
          throw new InvalidInputError(`cannot store ${path}: the file does not exist`, { cause: error });
        }
        throw error;
      }
      await copyFile(path, staged);
      await rm(path, { force: true });
    }
    return staged;
  }

  /**
   * Put a staged, fsynced file at its content address. Same bytes already there and intact: no-op.
   * Something else there (a damaged copy): replaced by the good bytes, so storing again heals the store.
   */
  private async commit(
    staged: string,
    sha256: string,
    bytes: number,
    meta: ArtifactMeta,
  ): Promise<ArtifactRef> {
    const target = this.layout.data(sha256, meta.format);
    await mkdir(dirname(target), { recursive: true });
    if (!(await intact(target, sha256, bytes))) {
      await rename(staged, target);
      await fsyncPath(dirname(target));
    }
    await this.ensureSidecar(sha256, bytes, meta);
    return {
      uri: artifactAddress(sha256),
      sha256,
      kind: meta.kind,
      format: meta.format,
      ...(meta.rows === undefined ? {} : { rows: meta.rows }),
      bytes,
      ...(meta.schema === undefined ? {} : { schema: meta.schema }),
    };
  }

  /** Write the sidecar unless a readable one exists: the first producer of some bytes is their origin. */
  private async ensureSidecar(sha256: string, bytes: number, meta: ArtifactMeta): Promise<void> {
    const path = this.layout.sidecar(sha256);
    try {
      JSON.parse(await readFile(path, 'utf8'));
      return;
    } catch {
      // missing or damaged: (re)write it below
    }
    const sidecar: ArtifactSidecar = {
      sha256,
      bytes,
      kind: meta.kind,
      format: meta.format,
      ...(meta.rows === undefined ? {} : { rows: meta.rows }),
      ...(meta.schema === undefined ? {} : { schema: meta.schema }),
      producer: meta.producer ?? null,
      createdAt: new Date().toISOString(),
    };
    await writeFileAtomic(path, `${JSON.stringify(sidecar, null, 2)}\n`);
  }

  private async integrityError(
    ref: ArtifactRef,
    path: string,
    problem: string,
  ): Promise<ArtifactIntegrityError> {
    let origin = 're-run the step that produced it';
    try {
      const { producer } = JSON.parse(await readFile(this.layout.sidecar(ref.sha256), 'utf8')) as {
        producer?: ArtifactSidecar['producer'];
      };
      if (producer) origin = `re-run step "${producer.step}" of run ${producer.workflowId}`;
      else if (producer === null) origin = 'ingest or store it again';
    } catch {
      // no readable sidecar: the generic advice stands
    }
    const where = relative(this.layout.root, path);
    return new ArtifactIntegrityError(
      `artifact ${ref.kind} ${ref.sha256} (${where} in ${this.layout.root}) ${problem}: it was deleted, ` +
        `tampered with or corrupted after it was stored, so it is refused; delete it and ${origin}`,
      { details: { sha256: ref.sha256, path, kind: ref.kind, problem } },
    );
  }
}

/** Whether `path` already holds exactly the bytes with this hash and size. */
async function intact(path: string, sha256: string, bytes: number): Promise<boolean> {
  try {
    if ((await stat(path)).size !== bytes) return false;
    return (await sha256File(path)).sha256 === sha256;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
