import type { Command } from 'commander';
import type { ModelsOptions, PromoteOptions, RollbackOptions } from '../actions/registry.js';

/**
 * The model registry commands (docs/architecture.md decision 6). Registration is cheap; the Temporal client is
 * imported only when one of them runs.
 */
export function registerRegistry(program: Command): void {
  program
    .command('models')
    .description(
      'list registered models with their aliases, or one model’s versions with lineage and metrics',
    )
    .argument('[name]', 'a model: show its versions (needs a running worker to answer)')
    .option('--history', 'with a name: also show the event log (registrations, promotions, refusals)')
    .action(async (name: string | undefined, options: ModelsOptions, command: Command) =>
      name === undefined
        ? (await import('../actions/control-reads.js')).modelListAction(command)
        : (await import('../actions/registry.js')).modelsAction(name, options, command),
    );

  program
    .command('promote')
    .description(
      'put a model version into production: as a holder of role promoter (roles file), or on the strength of its approved run',
    )
    .argument('<model>', 'the model')
    .argument('<version>', 'the version number, e.g. 3')
    .requiredOption('--as <id>', 'who promotes (recorded in the registry)')
    .requiredOption('--reason <text>', 'why (recorded in the registry)')
    .option(
      '--approved-run <run>',
      'rely on the version’s own approved run instead of your role (its workflow id or run id)',
    )
    .action(async (model: string, version: string, options: PromoteOptions, command: Command) =>
      (await import('../actions/registry.js')).promoteAction(model, version, options, command),
    );

  program
    .command('rollback')
    .description('put the previous production version of a model back (holders of role promoter)')
    .argument('<model>', 'the model')
    .requiredOption('--as <id>', 'who rolls back (recorded in the registry)')
    .requiredOption('--reason <text>', 'why (recorded in the registry)')
    .action(async (model: string, options: RollbackOptions, command: Command) =>
      (await import('../actions/registry.js')).rollbackAction(model, options, command),
    );
}
