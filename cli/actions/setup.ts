import { join } from 'node:path';
import type { Command } from 'commander';
import { ensureClusterBinaries } from '../../infra/cluster/provision.js';
import { locateTemporalCli } from '../../infra/temporal/cli-provision.js';
import { context } from '../commands/shared.js';

export async function setupAction(options: { cluster?: boolean }, command: Command): Promise<void> {
  const { config, out } = context(command);
  const started = Date.now();
  const cli = await locateTemporalCli({
    envPath: config.temporal.cliPath,
    searchPath: config.searchPath,
    cacheDir: join(config.home, 'bin'),
    onProgress: (line) => out.status(line),
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  const cliLine =
    cli.source === 'sdk-download'
      ? `Temporal CLI: the SDK will download it into ${cli.downloadDir} on first start`
      : `Temporal CLI ${cli.version} at ${cli.path} (found via ${cli.source}, ${seconds}s)`;
  if (!options.cluster) {
    out.result({ ...cli, seconds }, () => cliLine);
    return;
  }
  const cluster = await ensureClusterBinaries({
    home: config.home,
    searchPath: config.searchPath,
    onProgress: (line) => out.status(line),
  });
  const built = (
    name: string,
    binary: { path: string; version: string; source: string; buildSeconds?: number },
  ) =>
    `${name} ${binary.version} at ${binary.path} (${binary.source === 'go-build' ? `built in ${binary.buildSeconds ?? 0}s` : 'built before'})`;
  out.result({ ...cli, seconds, cluster }, () =>
    [
      cliLine,
      `PostgreSQL ${cluster.postgres.version} in ${cluster.postgres.binDir}`,
      built('Temporal SQL tool', cluster.sqlTool),
      built('Temporal server', cluster.server),
      built('MinIO', cluster.minio),
    ].join('\n'),
  );
}
