import { oneLine } from '../pipelines/errors.js';

export { table } from '../lib/text-table.js';

/**
 * How a command talks to its user (docs/architecture.md contract): with `--json`, stdout carries exactly one JSON
 * document and status lines go to stderr; otherwise status and results are human text on stdout.
 * Failures are always one line on stderr and a non-zero exit.
 */
export class Output {
  constructor(readonly json: boolean) {}

  /** A progress or status line for a human. */
  status(line: string): void {
    (this.json ? process.stderr : process.stdout).write(`${line}\n`);
  }

  /** The command's result: `doc` with `--json`, `human()` otherwise. */
  result(doc: unknown, human: () => string): void {
    if (this.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${human()}\n`);
  }
}

/** Print the one-line cause of a failure and set a non-zero exit code. */
export function fail(error: unknown): void {
  process.stderr.write(`sluice: ${oneLine(error)}\n`);
  process.exitCode = 1;
}
