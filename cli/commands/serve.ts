import type { Command } from 'commander';
import type { ServeOptions } from '../actions/serve.js';
import { collect } from './shared.js';

/** `sluice serve`: registration only; the server (Fastify, TF.js) is imported when it runs. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'serve registered models over HTTP (POST /v1/models/<model>:predict, /metrics, /healthz, /readyz) by ' +
        'registry alias, hash-verified, with a Parquet prediction log; listens on SLUICE_SERVE_HOST:SLUICE_SERVE_PORT',
    )
    .requiredOption('--model <name>', 'a registered model to serve (repeatable)', collect, [])
    .option('--canary <percent>', 'send this percent of requests to the candidate version', '0')
    .option('--shadow', 'the candidate scores every request too; production answers')
    .option('--poll <ms>', 'how often to re-read the registry for new versions (0: never)', '5000')
    .action(async (options: ServeOptions, command: Command) =>
      (await import('../actions/serve.js')).serveAction(options, command),
    );
}
