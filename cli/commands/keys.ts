import type { Command } from 'commander';
import type { CreateKeyFlags } from '../actions/keys.js';

/**
 * `sluice keys create|list|revoke`: Ed25519 keys for signed approvals and signed audit exports. The
 * private key stays with its holder; the public key is registered in the keys file beside the roles file.
 */
export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('Ed25519 keys that sign approvals and audit exports: create, list, revoke');

  keys
    .command('create')
    .description(
      'make a key pair: the private key to ~/.sluice/keys/<identity>.pem (mode 0600) or --out, the public key ' +
        'registered in the keys file (SLUICE_KEYS_FILE, default keys.json beside the roles file)',
    )
    .requiredOption('--identity <id>', 'whose key it is: an approver id as in the roles file, or an operator')
    .option('--out <path>', 'where to write the private key (never overwritten)')
    .option('--expires <date>', 'after this date (ISO 8601) the key signs nothing that counts')
    .action(async (options: CreateKeyFlags, command: Command) =>
      (await import('../actions/keys.js')).createKeyAction(options, command),
    );

  keys
    .command('list')
    .description('the registered public keys: id, identity, created, expires, revoked')
    .action(async (_options, command: Command) =>
      (await import('../actions/keys.js')).listKeysAction(command),
    );

  keys
    .command('revoke')
    .description(
      'revoke a key: runs started from now on refuse what it signs (running runs keep their snapshot)',
    )
    .argument('<keyId>', 'the key id, from sluice keys list')
    .action(async (keyId: string, _options, command: Command) =>
      (await import('../actions/keys.js')).revokeKeyAction(keyId, command),
    );
}
