import { basename } from 'node:path';
import type { Command } from 'commander';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { inferContractFromFile } from '../../activities/contract/infer-contract.js';
import { resolveDataset } from '../../activities/data-inputs.js';
import { writeFileAtomic } from '../../lib/fs-atomic.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { context } from '../commands/shared.js';

export interface InferOptionsFlags {
  out?: string;
  margin: string;
  maxAllowed: string;
}

/** `sluice contract infer <dataset>`: print (or write) a proposed contract for the engineer to edit. */
export async function contractInferAction(
  target: string,
  options: InferOptionsFlags,
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  const margin = Number(options.margin);
  const maxAllowed = Number(options.maxAllowed);
  if (!(margin >= 0 && margin <= 10)) {
    throw new InvalidInputError(`--margin ${options.margin} must be a number from 0 to 10`);
  }
  if (!Number.isInteger(maxAllowed) || maxAllowed < 0) {
    throw new InvalidInputError(`--max-allowed ${options.maxAllowed} must be a whole number >= 0`);
  }
  const store = createArtifactStore(config.home, config.artifacts);
  const data = await resolveDataset(target, {
    store,
    dataRoots: config.dataRoots,
    what: 'sluice contract infer <dataset>',
  });
  const { contract } = await inferContractFromFile(data.path, basename(data.name), { margin, maxAllowed });
  const text = `${JSON.stringify(contract, null, 2)}\n`;
  if (options.out) {
    const file = options.out;
    await writeFileAtomic(file, text);
    out.result(
      { file, contract },
      () => `wrote ${file}: edit it, then run sluice validate ${target} --contract ${file}`,
    );
    return;
  }
  out.result(contract, () => text.trimEnd());
}
