import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { DependencyUnavailableError } from '../../pipelines/errors.js';
import { executableProblem } from '../temporal/cli-provision.js';

const run = promisify(execFile);

/** One binary of the cluster path, built from a pinned Go module version. */
export interface GoComponent {
  /** The file name in `<SLUICE_HOME>/bin` (the names of the official release archives where there is one). */
  binary: string;
  /** What a person calls it, in progress lines and errors. */
  label: string;
  /** The package `go install` builds. */
  module: string;
  /** Pinned: builds are reproducible and the recorded version says what runs. */
  version: string;
  /** The executable `go install` writes (the package's last path element). */
  installedAs: string;
}

/** The Temporal server release the dev server (Temporal CLI v1.5.1) embeds; builds without `replace`. */
export const TEMPORAL_SERVER: GoComponent = {
  binary: 'temporal-server',
  label: 'the Temporal server',
  module: 'go.temporal.io/server/cmd/server',
  version: 'v1.29.1',
  installedAs: 'server',
};

/** The official schema tool of the same release; its PostgreSQL schemas are embedded in it. */
export const TEMPORAL_SQL_TOOL: GoComponent = {
  binary: 'temporal-sql-tool',
  label: 'the Temporal SQL schema tool',
  module: 'go.temporal.io/server/cmd/tools/sql',
  version: 'v1.29.1',
  installedAs: 'sql',
};

/** MinIO has no semver tags: the pseudo-version `go install github.com/minio/minio@latest` resolved to on 2026-12-05 (commit 7aac2a2c5b7c of 2026-02-12). */
export const MINIO: GoComponent = {
  binary: 'minio',
  label: 'MinIO',
  module: 'github.com/minio/minio',
  version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
  installedAs: 'minio',
};

export const clusterComponents = [TEMPORAL_SQL_TOOL, TEMPORAL_SERVER, MINIO] as const;

/** What is recorded beside a built binary (`<binary>.json`). */
export interface BuildRecord {
  module: string;
  version: string;
  builtAt: string;
  buildSeconds: number;
  go: string;
}

export interface LocatedBinary {
  path: string;
  version: string;
  /** `cache`: built before; `go-build`: built now, taking `buildSeconds`. */
  source: 'cache' | 'go-build';
  buildSeconds?: number;
}

export interface EnsureBinaryOptions {
  /** `<SLUICE_HOME>/bin`. */
  binDir: string;
  /** The `PATH` to find `go` on. */
  searchPath: string;
  /** When false, a missing binary is an error instead of a build (`sluice cluster status`). */
  allowBuild?: boolean;
  onProgress?: (line: string) => void;
}

/**
 * Find `component` in `binDir` at its pinned version (as recorded when Sluice built it), or build it
 * once with `go install` into a scratch directory and move it into place, so a half-finished build is
 * never mistaken for a binary.
 *
 * @throws DependencyUnavailableError naming the module and the fix when it is missing and cannot be built.
 */
export async function ensureGoBinary(
  component: GoComponent,
  options: EnsureBinaryOptions,
): Promise<LocatedBinary> {
  const path = join(options.binDir, component.binary);
  const recorded = await readRecord(path);
  if (recorded?.version === component.version && !(await executableProblem(path))) {
    return { path, version: component.version, source: 'cache' };
  }
  const target = `${component.module}@${component.version}`;
  const why = recorded ? `${path} is ${recorded.version}, not ${component.version}` : `no ${path}`;
  if (options.allowBuild === false) {
    throw new DependencyUnavailableError(
      `${component.label} is not built (${why}): run \`npx sluice setup --cluster\` (needs Go)`,
      { details: { path, module: target } },
    );
  }
  const go = await findGo(options.searchPath);
  if (!go) {
    throw new DependencyUnavailableError(
      `${component.label} is not built (${why}) and Go is not installed to build it: install Go ` +
        `(https://go.dev/dl) and run \`npx sluice setup --cluster\`, or put a ${component.binary} ` +
        `built from ${target} at ${path} with ${path}.json recording {"version": "${component.version}"}`,
      { details: { path, module: target } },
    );
  }
  options.onProgress?.(
    `building ${component.label} (${target}) with Go into ${options.binDir} (minutes, once)`,
  );
  const started = Date.now();
  await mkdir(options.binDir, { recursive: true });
  const scratch = await mkdtemp(join(options.binDir, `.build-${component.binary}-`));
  try {
    await run(go, ['install', target], {
      env: { ...process.env, GOBIN: scratch, GOFLAGS: process.env['GOFLAGS'] ?? '-buildvcs=false' },
      timeout: 60 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    await rename(join(scratch, component.installedAs), path);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const last = stderr.trim().split('\n').slice(-3).join(' ') || (error as Error).message;
    throw new DependencyUnavailableError(
      `go install ${target} failed: ${last}. Fix the Go toolchain or network (GOPROXY) and run \`npx sluice setup --cluster\` again`,
      { cause: error, details: { module: target } },
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const buildSeconds = Math.round((Date.now() - started) / 1000);
  const record: BuildRecord = {
    module: component.module,
    version: component.version,
    builtAt: new Date().toISOString(),
    buildSeconds,
    go: (await run(go, ['version'])).stdout.trim(),
  };
  await writeFile(`${path}.json`, `${JSON.stringify(record, null, 2)}\n`);
  return { path, version: component.version, source: 'go-build', buildSeconds };
}

/** The record written beside a binary Sluice built, or undefined. */
export async function readRecord(path: string): Promise<BuildRecord | undefined> {
  try {
    return JSON.parse(await readFile(`${path}.json`, 'utf8')) as BuildRecord;
  } catch {
    return undefined;
  }
}

async function findGo(searchPath: string): Promise<string | undefined> {
  for (const dir of [...searchPath.split(delimiter), '/usr/local/go/bin']) {
    if (!dir) continue;
    const candidate = join(dir, 'go');
    if (!(await executableProblem(candidate))) return candidate;
  }
  return undefined;
}
