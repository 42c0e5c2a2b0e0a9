import type { Command } from 'commander';
import { createKey, loadKeys, revokeKey } from '../../lib/keys.js';
import { context } from '../commands/shared.js';

export interface CreateKeyFlags {
  identity: string;
  out?: string;
  expires?: string;
}

/** `sluice keys create`. */
export async function createKeyAction(options: CreateKeyFlags, command: Command): Promise<void> {
  const { config, out } = context(command);
  const { key, privateKeyFile } = await createKey({
    identity: options.identity,
    keysFile: config.keys.file,
    keysDir: config.keys.dir,
    out: options.out,
    expires: options.expires,
  });
  out.result(
    { key, privateKeyFile, keysFile: config.keys.file },
    () =>
      `created key ${key.keyId} for ${key.identity}\n` +
      `  private key ${privateKeyFile} (mode 0600: keep it to yourself)\n` +
      `  public key registered in ${config.keys.file}; runs started from now on accept its signatures`,
  );
}

/** `sluice keys list`. */
export async function listKeysAction(command: Command): Promise<void> {
  const { config, out } = context(command);
  const keys = await loadKeys(config.keys.file);
  out.result({ keysFile: config.keys.file, keys }, () =>
    keys.length === 0
      ? `no keys registered in ${config.keys.file}: sluice keys create --identity <id>`
      : keys
          .map(
            (k) =>
              `${k.keyId}  ${k.identity}  created ${k.created}` +
              (k.expires ? `  expires ${k.expires}` : '') +
              (k.revoked ? `  REVOKED ${k.revoked}` : ''),
          )
          .join('\n'),
  );
}

/** `sluice keys revoke`. */
export async function revokeKeyAction(keyId: string, command: Command): Promise<void> {
  const { config, out } = context(command);
  const key = await revokeKey(config.keys.file, keyId);
  out.result(
    { key },
    () =>
      `revoked ${key.keyId} of ${key.identity} at ${key.revoked ?? ''}: runs started from now on refuse it`,
  );
}
