import { ConfigurationError } from '../pipelines/errors.js';

/** Encryption keys by id; `current` encrypts, every key decrypts (rotation keeps old ones here). */
export interface PayloadKeys {
  current: string;
  keys: Record<string, Buffer>;
}

/**
 * Parse `SLUICE_PAYLOAD_KEYS`: `id:key[,id:key…]`, each key 32 bytes as 64 hex digits or base64; the
 * first id is the one new payloads are encrypted with, the others only decrypt (key rotation).
 *
 * @throws ConfigurationError naming the entry that is wrong (never echoing key material).
 */
export function parsePayloadKeys(value: string): PayloadKeys {
  const keys: Record<string, Buffer> = {};
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    const material = entry.slice(colon + 1);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw new ConfigurationError(
        `SLUICE_PAYLOAD_KEYS entry ${index + 1} has no usable key id: write id:key, the id of letters, digits, . _ - (e.g. 2026-01:<key>)`,
      );
    }
    const key = /^[0-9a-fA-F]{64}$/.test(material)
      ? Buffer.from(material, 'hex')
      : Buffer.from(material, 'base64');
    if (key.length !== 32) {
      throw new ConfigurationError(
        `SLUICE_PAYLOAD_KEYS key "${id}" is not 32 bytes: give 64 hex digits or base64 of 32 random bytes (\`openssl rand -base64 32\`)`,
      );
    }
    if (keys[id])
      throw new ConfigurationError(`SLUICE_PAYLOAD_KEYS names key "${id}" twice: give each key once`);
    keys[id] = key;
  }
  const [current] = Object.keys(keys);
  if (!current) throw new ConfigurationError('SLUICE_PAYLOAD_KEYS is set but holds no key: give id:key');
  return { current, keys };
}
