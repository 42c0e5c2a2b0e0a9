import type { Command } from 'commander';
import type { ExportOptions } from '../actions/audit.js';
import type { ReportOptions } from '../actions/audit-report.js';

/**
 * `sluice audit export|verify|replay|report`: histories as evidence. Registration is cheap; the
 * actions (Temporal client, worker replayer, bundler) load only when a command runs.
 */
export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('export, verify, replay and explain runs from their Temporal workflow histories');

  audit
    .command('export')
    .description(
      'write the full histories of runs (with their child workflows and the model registries they touched) ' +
        'in Temporal JSON format, and a manifest with the sha256 of every file, the Sluice version, the ' +
        'workflow code bundle hash and the export time',
    )
    .argument('[runs...]', 'run (workflow) ids')
    .option(
      '--query <visibility query>',
      'export every run the query matches, e.g. \'SluicePipeline = "churn"\'',
    )
    .requiredOption('--out <dir>', 'the directory to write (must be empty or absent)')
    .option('--force', 'replace a non-empty --out')
    .option(
      '--sign-key <pem>',
      "sign the manifest with this operator's Ed25519 private key (sluice keys create); verify checks it against the keys file",
    )
    .action(async (runs: string[], options: ExportOptions, command: Command) =>
      (await import('../actions/audit.js')).exportAction(runs, options, command),
    );

  audit
    .command('verify')
    .description(
      "check an export: the manifest's signature against the keys file, every file's sha256 against the " +
        'manifest, and every signed approval in its histories; any failure is named and exits non-zero',
    )
    .argument('<dir>', 'an export directory written by sluice audit export')
    .action(async (dir: string, _options, command: Command) =>
      (await import('../actions/audit.js')).verifyAction(dir, command),
    );

  audit
    .command('replay')
    .description(
      'replay histories against the current workflow code: OK, or the first diverging event and why ' +
        '(accepts sluice audit export directories and temporal workflow show --output json files)',
    )
    .argument('<paths...>', 'export directories, directories of history files, or history files')
    .action(async (paths: string[], _options, command: Command) =>
      (await import('../actions/audit-replay.js')).replayAction(paths, command),
    );

  audit
    .command('report')
    .description(
      'explain runs from their histories alone, for a compliance reader: who started each run and how, ' +
        'every step, the data, the model, its evaluation, every approval and refusal, registry changes',
    )
    .argument('<run>', 'an export directory, a history file, or a run (workflow) id to fetch from Temporal')
    .option('--format <format>', 'md, html or json (default: from the --out extension, else md)')
    .option('--out <file>', 'write the report to this file instead of stdout')
    .action(async (target: string, options: ReportOptions, command: Command) =>
      (await import('../actions/audit-report.js')).reportAction(target, options, command),
    );
}
