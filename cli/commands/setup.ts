import { join } from 'node:path';
import type { Command } from 'commander';
import { locateTemporalCli } from '../../infra/temporal/cli-provision.js';
import { context } from './shared.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('find or provide the Temporal CLI (building it with Go when needed) and record its version')
    .action(async (_options, command: Command) => {
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
    });
}
