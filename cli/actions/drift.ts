import type { Command } from 'commander';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { resolveDataset } from '../../activities/data-inputs.js';
import { json } from '../../activities/data-steps.js';
import { detectDrift } from '../../activities/drift/detect-drift.js';
import { driftMarkdown } from '../../activities/drift/render-drift.js';
import { driftOptionsSchema, type DriftOptionsInput } from '../../pipelines/drift.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { context } from '../commands/shared.js';

export interface DriftFlags {
  columns?: string;
  psi?: string;
  js?: string;
  ksP?: string;
  ksStatistic?: string;
  bins?: string;
  failOnDrift?: boolean;
}

/** `sluice drift <reference> <current>`: per-feature verdicts, stored as a drift artifact. */
export async function driftAction(
  referenceArg: string,
  currentArg: string,
  flags: DriftFlags,
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  const options = driftOptions(flags);
  const store = createArtifactStore(config.home, config.artifacts);
  const ctx = { store, dataRoots: config.dataRoots };
  const reference = await resolveDataset(referenceArg, { ...ctx, what: 'sluice drift <reference>' });
  const current = await resolveDataset(currentArg, { ...ctx, what: 'sluice drift <current>' });
  const report = await detectDrift(reference, current, options);
  const ref = await store.putJson(json(report), { kind: 'drift' });
  out.result(
    { ...report, artifact: ref },
    () => `${driftMarkdown(report).trimEnd()}\n\ndrift report ${ref.sha256}`,
  );
  if (flags.failOnDrift && report.drifted > 0) {
    process.stderr.write(`sluice: ${report.drifted} of ${report.features.length} features drifted\n`);
    process.exitCode = 1;
  }
}

function driftOptions(flags: DriftFlags) {
  const number = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw new InvalidInputError(`--${name} "${value}" is not a number`);
    return parsed;
  };
  const thresholds: Record<string, number> = {};
  for (const [key, name, value] of [
    ['psi', 'psi', flags.psi],
    ['js', 'js', flags.js],
    ['ksPValue', 'ks-p', flags.ksP],
    ['ksStatistic', 'ks-statistic', flags.ksStatistic],
  ] as const) {
    const parsed = number(name, value);
    if (parsed !== undefined) thresholds[key] = parsed;
  }
  const input: DriftOptionsInput = { thresholds };
  if (flags.columns)
    input.columns = flags.columns
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
  const bins = number('bins', flags.bins);
  if (bins !== undefined) input.bins = bins;
  const parsed = driftOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new InvalidInputError(`drift options are invalid: ${issues.join('; ')}`);
  }
  return parsed.data;
}
