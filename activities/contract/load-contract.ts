import { readFile } from 'node:fs/promises';
import { parseContract, type Contract } from '../../pipelines/contract.js';
import { InvalidInputError } from '../../pipelines/errors.js';

/**
 * Read a contract from a JSON file (what `sluice contract infer --out` writes and
 * `sluice validate --contract` reads).
 *
 * @throws InvalidInputError for a missing file, invalid JSON (with the parser's position) or a
 *   contract that does not parse (every zod issue with its path).
 */
export async function loadContract(file: string): Promise<Contract> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new InvalidInputError(`contract file ${file} cannot be read (${code}): check the path`, {
      cause: error,
      details: { file },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(
      `contract file ${file} is not valid JSON (${(error as Error).message}): fix the syntax, or regenerate it with sluice contract infer`,
      { cause: error, details: { file } },
    );
  }
  return parseContract(value, file);
}
