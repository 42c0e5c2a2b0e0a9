import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerRegistry } from '../../cli/commands/registry.js';
import { parseVersion } from '../../cli/actions/registry.js';
import { ModelPool, type RegistryReader } from '../../serving/model-pool.js';

/**
 * A message that tells a person to run a command must name one that works: each suggestion here is
 * parsed by the real `sluice` command definitions (with its handler replaced, so nothing runs).
 */
function parses(line: string): void {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerRegistry(program);
  for (const command of program.commands) command.exitOverride().action(() => undefined);
  const words = (line.match(/"[^"]*"|\S+/g) ?? []).map((word) => word.replace(/^"|"$/g, ''));
  expect(words[0]).toBe('sluice');
  program.parse(words.slice(1), { from: 'user' });
}

/** The command in a message, with its placeholders filled as a person would fill them. */
function suggested(message: string): string {
  const command = /`(sluice [^`]+)`/.exec(message)?.[1];
  if (!command) throw new Error(`no command in: ${message}`);
  return command.replace('<version>', '3').replace('<you>', 'alice').replace('<why>', 'canary looked good');
}

describe('commands suggested in messages are commands sluice accepts', () => {
  it('serving without a production version suggests a promote that parses', () => {
    const registry: RegistryReader = () => Promise.reject(new Error('not used'));
    const pool = new ModelPool(
      {} as never,
      {} as never,
      registry,
      { info: () => undefined, warn: () => undefined, error: () => undefined } as never,
      {} as never,
      [{ model: 'churn' }],
    );
    let message = '';
    try {
      pool.route('churn', 'request-1');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('churn has no production version loaded yet');
    expect(() => parses(suggested(message))).not.toThrow();
    // What it used to suggest is refused by the CLI.
    expect(() => parses('sluice models promote churn --version 3')).toThrow();
  });

  it('a bad version number suggests a promote that parses', () => {
    let message = '';
    try {
      parseVersion('churn', 'latest');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('is not a version number');
    expect(() => parses(suggested(message))).not.toThrow();
  });
});
