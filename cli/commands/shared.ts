import type { Command } from 'commander';
import { loadConfig, type SluiceConfig } from '../../lib/config.js';
import { Output } from '../output.js';

/** The config and output every command starts from (config parsed once, here). */
export function context(command: Command): { config: SluiceConfig; out: Output } {
  const globals = command.optsWithGlobals<{ json?: boolean }>();
  const out = new Output(globals.json === true);
  return { config: loadConfig(), out };
}

/** Collect repeated `--param k=v` flags. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
