import type { Command } from 'commander';
import type { DevOptions } from '../actions/dev.js';
import type { DecisionOptions, SignOptions } from '../actions/approve.js';
import type { RerunOptions } from '../actions/rerun.js';
import type { ScheduleVerb } from '../../client/schedules.js';
import type { ScheduleCreateOptions, TriggerOptions } from '../actions/triggers.js';
import type { RunOptions } from '../actions/run.js';
import type { RunsOptions } from '../actions/control-reads.js';
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
    .option(
      '--steps <module>',
      'a module of your own steps (defineStep) to register (repeatable)',
      collect,
      [],
    )
    .action(async (options: DevOptions, command: Command) =>
      (await import('../actions/dev.js')).devAction(options, command),
    );

  program
    .command('worker')
    .description('run a Sluice worker (task queues sluice and sluice-train) against TEMPORAL_ADDRESS')
    .option(
      '--steps <module>',
      'a module of your own steps (defineStep) to register; their queues are polled too (repeatable)',
      collect,
      [],
    )
    .action(async (options: { steps: string[] }, command: Command) =>
      (await import('../actions/worker.js')).workerAction(options, command),
    );

  program
    .command('setup')
    .description('find or provide the Temporal CLI (building it with Go when needed) and record its version')
    .option(
      '--cluster',
      'also build what `sluice cluster up` runs (the Temporal server, its SQL tool, MinIO) and check PostgreSQL',
    )
    .action(async (options: { cluster?: boolean }, command: Command) =>
      (await import('../actions/setup.js')).setupAction(options, command),
    );

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
    .option(
      '--steps <module>',
      'a module of your own steps, to check their params before starting (repeatable)',
      collect,
      [],
    )
    .action(async (ref: string, options: RunOptions, command: Command) =>
      (await import('../actions/run.js')).runAction(ref, options, command),
    );

  program
    .command('status')
    .description('show a run: its state and every step with attempts, timings and outputs')
    .argument('<run>', 'the run (workflow id)')
    .action(async (runId: string, _options, command: Command) =>
      (await import('../actions/control-reads.js')).statusAction(runId, command),
    );

  program
    .command('runs')
    .description('list recent runs (a visibility query on Sluice search attributes)')
    .option('--awaiting-approval', 'only runs waiting at an approval gate')
    .option('--pipeline <id>', 'only runs of this pipeline')
    .option('--model <name>', 'only runs of this model')
    .option('--limit <n>', 'at most this many runs', '50')
    .action(async (options: RunsOptions, command: Command) =>
      (await import('../actions/control-reads.js')).runsAction(options, command),
    );

  program
    .command('approve')
    .description('approve the model a run is waiting on (checked against the gate policy at once)')
    .argument('<run>', 'the run (workflow id)')
    .requiredOption('--as <id>', 'who approves (recorded; must be an eligible approver)')
    .option('--comment <text>', 'why (recorded)')
    .option('--model-version <version>', 'the model version you looked at (default: the one the gate shows)')
    .option(
      '--signal',
      'send as the durable approval signal instead (no immediate answer; works with no worker)',
    )
    .option('--key <path>', 'your private key (default ~/.sluice/keys/<id>.pem, from sluice keys create)')
    .option('--gate <step>', 'with no worker answering: the gate step to sign for (from sluice status)')
    .option(
      '--metrics-digest <digest>',
      'with no worker answering: the metrics digest to sign (from sluice status)',
    )
    .action(async (runId: string, options: DecisionOptions, command: Command) =>
      (await import('../actions/approve.js')).decisionAction(runId, 'approve', options, command),
    );

  program
    .command('reject')
    .description('reject the model a run is waiting on; the run stops')
    .argument('<run>', 'the run (workflow id)')
    .requiredOption('--as <id>', 'who rejects (recorded; must be an eligible approver)')
    .requiredOption('--reason <text>', 'why (recorded)')
    .option('--model-version <version>', 'the model version you looked at (default: the one the gate shows)')
    .option('--signal', 'send as the durable approval signal instead')
    .option('--key <path>', 'your private key (default ~/.sluice/keys/<id>.pem, from sluice keys create)')
    .option('--gate <step>', 'with no worker answering: the gate step to sign for (from sluice status)')
    .option(
      '--metrics-digest <digest>',
      'with no worker answering: the metrics digest to sign (from sluice status)',
    )
    .action(async (runId: string, options: DecisionOptions, command: Command) =>
      (await import('../actions/approve.js')).decisionAction(runId, 'reject', options, command),
    );

  program
    .command('sign')
    .description(
      'sign a decision with your key and print the --input JSON for `temporal workflow signal --name approval` ' +
        '(for approvers who send the signal from any Temporal client)',
    )
    .argument('<run>', 'the run (workflow id)')
    .requiredOption(
      '--as <id>',
      'who decides (the key must be registered for this id before the run started)',
    )
    .option('--decision <decision>', 'approve or reject', 'approve')
    .option('--comment <text>', 'why (signed and recorded)')
    .option('--model-version <version>', 'the model version you looked at (default: the one the gate shows)')
    .option('--key <path>', 'your private key (default ~/.sluice/keys/<id>.pem, from sluice keys create)')
    .option('--gate <step>', 'with no worker answering: the gate step to sign for (from sluice status)')
    .option(
      '--metrics-digest <digest>',
      'with no worker answering: the metrics digest to sign (from sluice status)',
    )
    .action(async (runId: string, options: SignOptions, command: Command) =>
      (await import('../actions/approve.js')).signAction(runId, options, command),
    );

  program
    .command('cancel')
    .description('cancel a run: running steps are cancelled, nothing downstream starts')
    .argument('<run>', 'the run (workflow id)')
    .action(async (runId: string, _options, command: Command) =>
      (await import('../actions/run.js')).cancelAction(runId, command),
    );

  program
    .command('rerun')
    .description('run an earlier run again with the same spec and parameters; cached steps are reused')
    .argument('<run>', 'the run to repeat (workflow id)')
    .option('--from <step>', 'run this step and everything after it again, even when cached')
    .option('--wait', 'follow the new run until it ends')
    .option('--as <user>', 'who starts the rerun (recorded); default: your login name')
    .option('--steps <module>', 'a module of your own steps the run uses (repeatable)', collect, [])
    .action(async (runId: string, options: RerunOptions, command: Command) =>
      (await import('../actions/rerun.js')).rerunAction(runId, options, command),
    );

  program
    .command('trigger')
    .description(
      'start a pipeline because new data arrived; the same data (by content hash) starts one run only',
    )
    .argument('<pipeline>', 'pipeline id or path/to/file.pipeline.ts')
    .requiredOption('--event <name>', 'what happened (recorded as the run starter)')
    .requiredOption('--data <path>', 'the new dataset; becomes the run parameter "source"')
    .option('--param <name=value>', 'another run parameter (repeatable)', collect, [])
    .action(async (ref: string, options: TriggerOptions, command: Command) =>
      (await import('../actions/triggers.js')).triggerAction(ref, options, command),
    );

  const schedule = program.command('schedule').description('retrain on a schedule (Temporal Schedules)');
  schedule
    .command('create')
    .argument('<pipeline>', 'pipeline id or path/to/file.pipeline.ts')
    .option('--cron <expression>', 'cron expression, e.g. "0 3 * * 1"')
    .option('--every <duration>', 'interval, e.g. 6h')
    .option('--param <name=value>', 'a run parameter (repeatable)', collect, [])
    .action(async (ref: string, options: ScheduleCreateOptions, command: Command) =>
      (await import('../actions/triggers.js')).scheduleCreateAction(ref, options, command),
    );
  schedule
    .command('list')
    .action(async (_options, command: Command) =>
      (await import('../actions/triggers.js')).scheduleListAction(command),
    );
  for (const verb of ['pause', 'unpause', 'delete', 'backfill'] as const satisfies readonly ScheduleVerb[]) {
    const sub = schedule.command(verb).argument('<pipeline>', 'the pipeline whose schedule it is');
    if (verb === 'backfill')
      sub.requiredOption('--from <time>', 'ISO start').requiredOption('--to <time>', 'ISO end');
    if (verb === 'pause' || verb === 'unpause') sub.option('--note <text>', 'why (kept on the schedule)');
    sub.action(
      async (pipeline: string, options: { from?: string; to?: string; note?: string }, command: Command) =>
        (await import('../actions/triggers.js')).scheduleVerbAction(verb, pipeline, options, command),
    );
  }
}
