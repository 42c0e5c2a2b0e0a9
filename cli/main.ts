import { Command, CommanderError } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerCluster } from './commands/cluster.js';
import { registerContract } from './commands/contract.js';
import { registerCore } from './commands/core.js';
import { registerDrift } from './commands/drift.js';
import { registerIngest } from './commands/ingest.js';
import { registerKeys } from './commands/keys.js';
import { registerMonitor } from './commands/monitor.js';
import { registerRegistry } from './commands/registry.js';
import { registerServe } from './commands/serve.js';
import { registerStats } from './commands/stats.js';
import { registerValidate } from './commands/validate.js';
import { sluiceVersion } from '../lib/package-info.js';
import { fail } from './output.js';

/** Build the `sluice` command tree (exported for tests of the argument handling). */
export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Durable machine-learning pipelines on Temporal.')
    .version(sluiceVersion(), '-V, --version', 'print the Sluice version')
    .option('--json', 'print one JSON document on stdout (status lines go to stderr)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's own errors ("unknown option …") become our one-line cause.
      outputError: (text, write) => write(`sluice: ${text.replace(/^error: /, '').trim()}\n`),
    });
  registerCore(program);
  registerStats(program);
  registerValidate(program);
  registerContract(program);
  registerDrift(program);
  registerIngest(program);
  registerRegistry(program);
  registerAudit(program);
  registerServe(program);
  registerMonitor(program);
  registerCluster(program);
  registerKeys(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed as one line.
      process.exitCode = error.exitCode;
      return;
    }
    fail(error);
    // The command has cleaned up what it started; don't let a stray handle keep a failed CLI alive.
    process.exit();
  }
}

await main(process.argv);
