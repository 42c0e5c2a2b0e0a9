import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigurationError, DependencyUnavailableError } from '../../pipelines/errors.js';

const run = promisify(execFile);

/** The Temporal CLI release whose dev server Sluice is tested against (Server 1.29.1, UI 2.42.1). */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

/** How the `temporal` CLI was found, in the order Sluice tries. */
export type CliSource = 'env' | 'path' | 'cache' | 'sdk-download' | 'go-build';

/**
 * A usable Temporal CLI. For `sdk-download` there is no path yet: the SDK downloads the binary into
 * `downloadDir` when it starts the dev server.
 */
export type TemporalCli =
  | { source: Exclude<CliSource, 'sdk-download'>; path: string; version: string }
  | { source: 'sdk-download'; downloadDir: string; version: string };

export interface LocateCliOptions {
  /** `TEMPORAL_CLI_PATH`: when set it must work; Sluice does not silently fall back. */
  envPath?: string | undefined;
  /** The `PATH` to search for `temporal`. */
  searchPath?: string | undefined;
  /** Where Sluice keeps the binary it builds or downloads (`<SLUICE_HOME>/bin`). */
  cacheDir: string;
  /** Try the SDK's download when the download host answers (default true). */
  allowDownload?: boolean;
  /** Build with `go install` when Go is present (default true). */
  allowBuild?: boolean;
  /** Progress lines for a human ("building the Temporal CLI…"). */
  onProgress?: (line: string) => void;
  /** Overridable for tests; the host the SDK downloads from. */
  downloadProbeUrl?: string;
}

/**
 * Find or provide the `temporal` CLI: `TEMPORAL_CLI_PATH`, then `temporal` on `PATH`, then the project's
 * cache, then the SDK's own download where the internet answers, then `go install` into the cache.
 *
 * @throws ConfigurationError when `TEMPORAL_CLI_PATH` is set but unusable.
 * @throws DependencyUnavailableError listing every way tried and what to install.
 */
export async function locateTemporalCli(options: LocateCliOptions): Promise<TemporalCli> {
  const tried: string[] = [];
  const progress = options.onProgress ?? (() => undefined);

  if (options.envPath !== undefined && options.envPath !== '') {
    const problem = await executableProblem(options.envPath);
    if (problem) {
      throw new ConfigurationError(
        `TEMPORAL_CLI_PATH=${options.envPath} ${problem}: point it at a temporal binary or unset it`,
        { details: { path: options.envPath } },
      );
    }
    return { source: 'env', path: options.envPath, version: await cliVersion(options.envPath) };
  }
  tried.push('TEMPORAL_CLI_PATH is not set');

  const onPath = await findOnPath('temporal', options.searchPath ?? '');
  if (onPath) return { source: 'path', path: onPath, version: await cliVersion(onPath) };
  tried.push('no `temporal` on PATH');

  const cached = join(options.cacheDir, 'temporal');
  if (!(await executableProblem(cached))) {
    return { source: 'cache', path: cached, version: await cliVersion(cached) };
  }
  tried.push(`no cached binary at ${cached}`);

  if (options.allowDownload !== false) {
    const url = options.downloadProbeUrl ?? 'https://temporal.download';
    const reachable = await answers(url);
    if (reachable === true) {
      return {
        source: 'sdk-download',
        downloadDir: join(options.cacheDir, 'download'),
        version: 'sdk default',
      };
    }
    tried.push(`the SDK cannot download it (${url}: ${reachable})`);
  }

  if (options.allowBuild !== false) {
    const go = await findOnPath('go', options.searchPath ?? '');
    if (go) {
      progress(
        `building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${options.cacheDir} (a few minutes, once)`,
      );
      const built = await goInstallCli(go, options.cacheDir);
      if (built.ok) {
        return { source: 'go-build', path: cached, version: await cliVersion(cached) };
      }
      tried.push(`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} failed (${built.reason})`);
    } else {
      tried.push('Go is not installed, so it cannot be built');
    }
  }

  throw new DependencyUnavailableError(
    `no Temporal CLI found: ${tried.join('; ')}. Fix: install the Temporal CLI (https://docs.temporal.io/cli) ` +
      `and put it on PATH, or set TEMPORAL_CLI_PATH, or install Go and run \`npx sluice setup\``,
    { details: { tried } },
  );
}

/** Why `path` is not a usable executable, or undefined when it is. */
export async function executableProblem(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return 'is not a file';
    await access(path, constants.X_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'EACCES') return 'is not executable';
    return `cannot be used (${code ?? String(error)})`;
  }
}

async function findOnPath(command: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (!(await executableProblem(candidate))) return candidate;
  }
  return undefined;
}

/**
 * The CLI's version as recorded beside it (`temporal.json`, written when Sluice built it, since a
 * `go install` build reports 0.0.0-DEV) or as it reports itself.
 */
export async function cliVersion(path: string): Promise<string> {
  try {
    const recorded = JSON.parse(await readFile(`${path}.json`, 'utf8')) as {
      version?: string;
      server?: string;
    };
    if (recorded.version) return `${recorded.version} (${recorded.server ?? 'server unknown'})`;
  } catch {
    // no record beside the binary: ask the binary itself
  }
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 15_000 });
    return stdout.trim().replace(/^temporal version /, '');
  } catch (error) {
    throw new DependencyUnavailableError(
      `the Temporal CLI at ${path} does not run (${(error as Error).message.split('\n')[0]}): replace it or point TEMPORAL_CLI_PATH at a working one`,
      { cause: error },
    );
  }
}

async function answers(url: string): Promise<true | string> {
  try {
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3_000) });
    return true;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } })
      .cause;
    return cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (error as Error).message;
  }
}

async function goInstallCli(
  go: string,
  cacheDir: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  await mkdir(cacheDir, { recursive: true });
  const started = Date.now();
  try {
    await run(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: { ...process.env, GOBIN: cacheDir, CGO_ENABLED: '0' },
      timeout: 30 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const last = stderr.trim().split('\n').pop() ?? (error as Error).message;
    return { ok: false, reason: last };
  }
  const binary = join(cacheDir, 'temporal');
  const { stdout } = await run(binary, ['--version'], { timeout: 15_000 });
  const server = /Server [\d.]+/.exec(stdout)?.[0] ?? 'server unknown';
  await writeFile(
    `${binary}.json`,
    `${JSON.stringify(
      {
        module: TEMPORAL_CLI_MODULE,
        version: TEMPORAL_CLI_VERSION,
        server,
        builtAt: new Date().toISOString(),
        buildSeconds: Math.round((Date.now() - started) / 1000),
        go: (await run(go, ['version'])).stdout.trim(),
      },
      null,
      2,
    )}\n`,
  );
  return { ok: true };
}
