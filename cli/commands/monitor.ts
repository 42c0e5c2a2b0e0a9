import type { Command } from 'commander';
import type { MonitorCreateOptions } from '../actions/monitor.js';

/** `sluice monitor create|delete`; the actions (Temporal client and all) load only when run. */
export function registerMonitor(program: Command): void {
  const monitor = program
    .command('monitor')
    .description('watch a deployed model for drift on a Temporal Schedule, and retrain on a breach');
  monitor
    .command('create')
    .argument('<model>', 'registry name of the model to watch')
    .requiredOption('--pipeline <id>', 'the pipeline that retrains it (id or path/to/file.pipeline.ts)')
    .requiredOption('--every <duration>', 'how often to look, e.g. 1h')
    .option('--data <path>', 'the recent data to compare (default: the model’s prediction log)')
    .option('--on-breach <action>', 'retrain or alert', 'retrain')
    .option('--psi <n>', 'PSI above which a feature drifted (default 0.2)')
    .option('--min-accuracy <n>', 'live accuracy below which the model breached (needs feedback labels)')
    .action(async (model: string, options: MonitorCreateOptions, command: Command) =>
      (await import('../actions/monitor.js')).monitorCreateAction(model, options, command),
    );
  monitor
    .command('delete')
    .argument('<model>', 'the model whose monitor it is')
    .action(async (model: string, _options: unknown, command: Command) =>
      (await import('../actions/monitor.js')).monitorDeleteAction(model, command),
    );
}
