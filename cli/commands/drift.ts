import type { Command } from 'commander';
import { createArtifactStore } from '../../activities/artifacts/index.js';
import { resolveDataset } from '../../activities/data-inputs.js';
import { json } from '../../activities/data-steps.js';
import { detectDrift } from '../../activities/drift/detect-drift.js';
import { driftMarkdown } from '../../activities/drift/render-drift.js';
import { driftOptionsSchema, type DriftOptionsInput } from '../../pipelines/drift.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { context } from './shared.js';

interface DriftFlags {
  columns?: string;
  psi?: string;
  js?: string;
  ksP?: string;
  ksStatistic?: string;
  bins?: string;
  failOnDrift?: boolean;
}

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
    .action(async (referenceArg: string, currentArg: string, flags: DriftFlags, command: Command) => {
      const { config, out } = context(command);
      const input: DriftOptionsInput = {};
      if (flags.columns)
        input.columns = flags.columns
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean);
      const thresholds: Record<string, number> = {};
      const numberFlag = (name: string, value: string | undefined): number | undefined => {
        if (value === undefined) return undefined;
        const parsed = Number(value);
        if (!Number.isFinite(parsed)) throw new InvalidInputError(`--${name} "${value}" is not a number`);
        return parsed;
      };
      for (const [key, name, value] of [
        ['psi', 'psi', flags.psi],
        ['js', 'js', flags.js],
        ['ksPValue', 'ks-p', flags.ksP],
        ['ksStatistic', 'ks-statistic', flags.ksStatistic],
      ] as const) {
        const parsed = numberFlag(name, value);
        if (parsed !== undefined) thresholds[key] = parsed;
      }
      input.thresholds = thresholds;
      const bins = numberFlag('bins', flags.bins);
      if (bins !== undefined) input.bins = bins;
      const parsed = driftOptionsSchema.safeParse(input);
      if (!parsed.success) {
        throw new InvalidInputError(
          `drift options are invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      }
      const store = createArtifactStore(config.home);
      const ctx = { store, dataRoots: config.dataRoots };
      const reference = await resolveDataset(referenceArg, { ...ctx, what: 'sluice drift <reference>' });
      const current = await resolveDataset(currentArg, { ...ctx, what: 'sluice drift <current>' });
      const report = await detectDrift(reference, current, parsed.data);
      const ref = await store.putJson(json(report), { kind: 'drift' });
      out.result(
        { ...report, artifact: ref },
        () => `${driftMarkdown(report).trimEnd()}\n\ndrift report ${ref.sha256}`,
      );
      if (flags.failOnDrift && report.drifted > 0) {
        process.stderr.write(`sluice: ${report.drifted} of ${report.features.length} features drifted\n`);
        process.exitCode = 1;
      }
    });
}
