import type { Command } from 'commander';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { loadContract } from '../../activities/contract/load-contract.js';
import { resolveDataset } from '../../activities/data-inputs.js';
import { json, storeStatistics } from '../../activities/data-steps.js';
import { validate } from '../../activities/validation/validate-dataset.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { ValidationResult } from '../../pipelines/validation.js';
import { context } from '../commands/shared.js';
import { table } from '../output.js';

export interface ValidateOptions {
  contract: string;
  referenceTime?: string;
}

/**
 * `sluice validate <dataset> --contract <file>`: statistics, then the contract; the anomalies as a
 * table (or the result with `--json`) and exit 1 when any has severity error.
 */
export async function validateAction(
  target: string,
  options: ValidateOptions,
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  const contract = await loadContract(options.contract);
  let referenceTime: number | undefined;
  if (options.referenceTime !== undefined) {
    referenceTime = Date.parse(options.referenceTime);
    if (Number.isNaN(referenceTime)) {
      throw new InvalidInputError(
        `--reference-time "${options.referenceTime}" is not an ISO-8601 time, e.g. 2024-05-01T00:00:00Z`,
      );
    }
  }
  const store = createArtifactStore(config.home, config.artifacts);
  const data = await resolveDataset(target, {
    store,
    dataRoots: config.dataRoots,
    what: 'sluice validate <dataset>',
  });
  const { statistics } = await storeStatistics(store, data);
  const result = await validate(
    contract,
    statistics,
    data.path,
    referenceTime === undefined ? {} : { referenceTime },
  );
  await store.putJson(json(result), { kind: 'validation' });
  out.result(result, () => describe(result, target));
  if (!result.passed) {
    process.stderr.write(`sluice: ${target} breaks its contract: ${result.errorCount} error anomalies\n`);
    process.exitCode = 1;
  }
}

function describe(result: ValidationResult, target: string): string {
  const head = `${target}: ${result.passed ? 'passed' : 'FAILED'} · ${result.checks} checks · ${result.errorCount} errors · ${result.warningCount} warnings`;
  if (result.anomalies.length === 0) return head;
  const clip = (text: string): string => (text.length > 60 ? `${text.slice(0, 59)}…` : text);
  const rows = [['severity', 'column', 'check', 'expected', 'observed', 'examples']].concat(
    result.anomalies.map((a) => [
      a.severity,
      a.column ?? '',
      a.check,
      clip(a.expected),
      clip(String(a.observed)),
      clip((a.examples ?? []).map((e) => JSON.stringify(e)).join(', ')),
    ]),
  );
  return `${head}\n\n${table(rows)}`;
}
