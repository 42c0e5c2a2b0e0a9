import { basename } from 'node:path';
import type { Command } from 'commander';
import { inferContractFromFile } from '../../activities/contract/infer-contract.js';
import { createArtifactStore } from '../../activities/artifacts/index.js';
import { resolveDataset } from '../../activities/data-inputs.js';
import { writeFileAtomic } from '../../activities/fs-atomic.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { context } from './shared.js';

export function registerContract(program: Command): void {
  const contract = program
    .command('contract')
    .description('data contracts: propose one from a dataset, then edit it');
  contract
    .command('infer')
    .description(
      'propose a contract from a dataset (types, nullability, widened min/max, allowed values, patterns, unique keys, row bounds) for you to edit',
    )
    .argument('<dataset>', 'a path (CSV, TSV, Parquet, JSON, NDJSON) or the sha256 of a stored dataset')
    .option('--out <file>', 'write the contract to this file instead of printing it')
    .option('--margin <fraction>', 'widen min/max by this share of the observed range', '0.1')
    .option('--max-allowed <n>', 'text columns with at most this many values get an allowed list', '20')
    .action(
      async (
        target: string,
        options: { out?: string; margin: string; maxAllowed: string },
        command: Command,
      ) => {
        const { config, out } = context(command);
        const margin = Number(options.margin);
        const maxAllowed = Number(options.maxAllowed);
        if (!(margin >= 0 && margin <= 10))
          throw new InvalidInputError(`--margin ${options.margin} must be a number from 0 to 10`);
        if (!Number.isInteger(maxAllowed) || maxAllowed < 0) {
          throw new InvalidInputError(`--max-allowed ${options.maxAllowed} must be a whole number >= 0`);
        }
        const store = createArtifactStore(config.home);
        const data = await resolveDataset(target, {
          store,
          dataRoots: config.dataRoots,
          what: 'sluice contract infer <dataset>',
        });
        const { contract: proposal } = await inferContractFromFile(data.path, basename(data.name), {
          margin,
          maxAllowed,
        });
        const text = `${JSON.stringify(proposal, null, 2)}\n`;
        if (options.out) {
          await writeFileAtomic(options.out, text);
          out.result(
            { file: options.out, contract: proposal },
            () =>
              `wrote ${options.out}: edit it, then run sluice validate ${target} --contract ${options.out}`,
          );
          return;
        }
        out.result(proposal, () => text.trimEnd());
      },
    );
}
