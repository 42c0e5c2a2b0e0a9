import { join } from 'node:path';
import type { Command } from 'commander';
import { locateTemporalCli } from '../../infra/temporal/cli-provision.js';
import { context } from '../commands/shared.js';

export async function setupAction(command: Command): Promise<void> {
  const { config, out } = context(command);
  const started = Date.now();
  const cli = await locateTemporalCli({
    envPath: config.temporal.cliPath,
    searchPath: config.searchPath,
    cacheDir: join(config.home, 'bin'),
    onProgress: (line) => out.status(line),
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  out.result({ ...cli, seconds }, () =>
    cli.source === 'sdk-download'
      ? `Temporal CLI: the SDK will download it into ${cli.downloadDir} on first start`
      : `Temporal CLI ${cli.version} at ${cli.path} (found via ${cli.source}, ${seconds}s)`,
  );
}
