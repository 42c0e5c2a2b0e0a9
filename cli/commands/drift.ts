import type { Command } from 'commander';
import type { DriftFlags } from '../actions/drift.js';

/** `sluice drift`; the action (DuckDB and all) loads only when the command runs. */
export function registerDrift(program: Command): void {
  program
    .command('drift')
    .description(
      'compare a current dataset with a reference: PSI, Jensen–Shannon and Kolmogorov–Smirnov per feature, with a verdict each',
    )
    .argument('<reference>', 'the dataset the model learned from (path or sha256 of a stored dataset)')
    .argument('<current>', 'the new data or the serving log (path or sha256 of a stored dataset)')
    .option(
      '--columns <a,b,…>',
      'features to compare (default: every shared numeric, text and boolean column)',
    )
    .option('--psi <n>', 'PSI above which a feature drifted (default 0.2)')
    .option('--js <n>', 'Jensen–Shannon distance above which a feature drifted (default 0.1)')
    .option('--ks-p <n>', 'KS p-value below which the test is significant (default 0.01)')
    .option('--ks-statistic <n>', 'smallest KS statistic that counts as drift when significant (default 0.1)')
    .option('--bins <n>', 'reference quantile bins for numeric features (default 10)')
    .option('--fail-on-drift', 'exit 1 when any feature drifted')
    .action(async (reference: string, current: string, flags: DriftFlags, command: Command) =>
      (await import('../actions/drift.js')).driftAction(reference, current, flags, command),
    );
}
