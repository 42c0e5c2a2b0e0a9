import type { Command } from 'commander';
import type { ServeOptions } from '../actions/serve.js';
import type { TokenCreateOptions } from '../actions/token.js';
import { collect } from './shared.js';

/** `sluice serve` and `sluice token`: registration only; Fastify and TF.js load when they run. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'serve registered models over HTTP (POST /v1/models/<model>:predict, /metrics, /healthz, /readyz) by ' +
        'registry alias, hash-verified, with a Parquet prediction log, plus the token-guarded routes ' +
        'POST /v1/feedback, /v1/events, /v1/runs/<run>/approvals, /v1/models/<model>:promote|:rollback, and the ' +
        'web console under /console/; ' +
        'listens on SLUICE_SERVE_HOST:SLUICE_SERVE_PORT',
    )
    .option('--model <name>', 'a registered model to serve (repeatable)', collect, [])
    .option(
      '--pipeline <id|file>',
      'a pipeline POST /v1/events may start (repeatable; none: events are refused)',
      collect,
      [],
    )
    .option(
      '--canary <percent>',
      'override: send this percent of requests to the candidate (default: the split a deploy step set in the registry)',
    )
    .option('--shadow', 'override: the candidate scores every request too; production answers')
    .option('--poll <ms>', 'how often to re-read the registry for new versions (0: never)', '5000')
    .action(async (options: ServeOptions, command: Command) =>
      (await import('../actions/serve.js')).serveAction(options, command),
    );

  program
    .command('console')
    .description(
      'the web console for approvers and auditors: `sluice serve` with no model, printing the console URL ' +
        '(<url>/console/); log in with a token from `sluice token create` (see docs/console.md)',
    )
    .option('--model <name>', 'also serve this registered model (repeatable)', collect, [])
    .option('--pipeline <id|file>', 'a pipeline POST /v1/events may start (repeatable)', collect, [])
    .option('--poll <ms>', 'how often to re-read the registry for new versions (0: never)', '5000')
    .action(async (options: ServeOptions, command: Command) =>
      (await import('../actions/serve.js')).serveAction({ ...options, canary: '0', console: true }, command),
    );

  const token = program
    .command('token')
    .description(
      'bearer tokens for the HTTP routes that change state; stored hashed in SLUICE_TOKENS_FILE (default <SLUICE_HOME>/tokens.json)',
    );
  token
    .command('create')
    .description('make a token for an identity with roles; it is printed once and never stored')
    .requiredOption('--identity <id>', 'who the token speaks for (recorded in every decision it makes)')
    .requiredOption(
      '--role <role>',
      'trigger | approver | promoter | feedback | predict (repeatable)',
      collect,
      [],
    )
    .action(async (options: TokenCreateOptions, command: Command) =>
      (await import('../actions/token.js')).tokenCreateAction(options, command),
    );
  token
    .command('list')
    .description('tokens by id, identity, roles, creation and revocation (never the tokens)')
    .action(async (_options: unknown, command: Command) =>
      (await import('../actions/token.js')).tokenListAction(command),
    );
  token
    .command('revoke <id>')
    .description('revoke a token (tok_…); a running server refuses it from its next request')
    .action(async (id: string, _options: unknown, command: Command) =>
      (await import('../actions/token.js')).tokenRevokeAction(id, command),
    );
}
