import type { Command } from 'commander';
import type { DevOptions } from '../actions/dev.js';
import type { RunOptions } from '../actions/run.js';
import { collect } from './shared.js';

/**
 * The core commands. Registration is cheap; each action's module (Temporal worker, DuckDB, TF.js…) is
 * imported only when that command runs, so `sluice --help` and one-line errors come back fast.
 */
export function registerCore(program: Command): void {
  program
    .command('dev')
    .description(
      'start everything on this machine: the Temporal dev server (SQLite file under SLUICE_HOME, Web UI), ' +
        'Sluice search attributes and a worker; stays in the foreground until Ctrl-C',
    )
    .option('--run <pipeline>', 'once everything is up, run this pipeline and show its progress')
    .option('--param <name=value>', 'a run parameter for --run (repeatable)', collect, [])
    .option('--exit', 'stop everything after the --run finishes instead of staying up')
    .action(async (options: DevOptions, command: Command) =>
      (await import('../actions/dev.js')).devAction(options, command),
    );

  program
    .command('worker')
    .description('run a Sluice worker (task queues sluice and sluice-train) against TEMPORAL_ADDRESS')
    .action(async (_options, command: Command) =>
      (await import('../actions/worker.js')).workerAction(command),
    );

  program
    .command('setup')
    .description('find or provide the Temporal CLI (building it with Go when needed) and record its version')
    .action(async (_options, command: Command) => (await import('../actions/setup.js')).setupAction(command));

  program
    .command('doctor')
    .description('check Node, the Temporal CLI, the server, SLUICE_HOME and the TF.js backend, with fixes')
    .action(async (_options, command: Command) =>
      (await import('../actions/doctor.js')).doctorAction(command),
    );

  program
    .command('run')
    .description('start a run of a pipeline (a shipped id or a path to a *.pipeline.ts file)')
    .argument('<pipeline>', 'pipeline id, or path/to/file.pipeline.ts[#id]')
    .option(
      '--param <name=value>',
      'a run parameter, typed as the pipeline declares it (repeatable)',
      collect,
      [],
    )
    .option('--wait', 'follow the run step by step until it ends')
    .option('--as <user>', 'who starts the run (recorded in history); default: your login name')
    .action(async (ref: string, options: RunOptions, command: Command) =>
      (await import('../actions/run.js')).runAction(ref, options, command),
    );

  program
    .command('status')
    .description('show a run: its state and every step with attempts, timings and outputs')
    .argument('<run>', 'the run (workflow id)')
    .action(async (runId: string, _options, command: Command) =>
      (await import('../actions/run.js')).statusAction(runId, command),
    );
}
