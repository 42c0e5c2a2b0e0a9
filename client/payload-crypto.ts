import { createDecipheriv } from 'node:crypto';
import { SluiceError } from '../pipelines/errors.js';
import type { PayloadKeys } from '../lib/payload-keys.js';

/** The `encoding` of a payload Sluice's codec encrypted; the original payload is inside, whole. */
export const encryptedEncoding = 'binary/encrypted';
/** What a reader without the keys is told when it meets an encrypted payload. */
export const encryptedWithoutKeys =
  'this payload is encrypted and SLUICE_PAYLOAD_KEYS is not set: set it to the keys the workers use';
/** Metadata naming the key that encrypted a payload, so a rotated-out key can still decrypt it. */
export const keyIdMetadata = 'encryption-key-id';
export const cipherMetadata = 'encryption-cipher';
export const cipherName = 'AES-256-GCM';
export const ivBytes = 12;
const tagBytes = 16;

/**
 * A payload needs a key this process does not have: an encrypted history read without its key, or a
 * key removed from `SLUICE_PAYLOAD_KEYS` too early. Names the key id and the fix; never the key.
 */
export class PayloadKeyError extends SluiceError {
  readonly code = 'PAYLOAD_KEY';
  readonly retryable = false;
}

/**
 * Open what the codec sealed with key `id` (IV, AES-256-GCM ciphertext, tag): the serialised payload.
 * Kept apart from the codec so the HTTP read path decrypts without loading the protobuf runtime.
 *
 * @throws PayloadKeyError when the key is missing or the bytes do not authenticate.
 */
export function openSealed(id: string, keys: PayloadKeys, sealed: Uint8Array): Buffer {
  const key = keys.keys[id];
  if (!key) {
    throw new PayloadKeyError(
      `a payload is encrypted with key "${id}", which is not in SLUICE_PAYLOAD_KEYS (it has ${Object.keys(keys.keys).join(', ')}): add that key to decrypt it`,
    );
  }
  const data = Buffer.from(sealed);
  if (data.length < ivBytes + tagBytes) {
    throw new PayloadKeyError(
      `a payload encrypted with key "${id}" is too short to be one: it was cut or altered`,
    );
  }
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, ivBytes));
  decipher.setAuthTag(data.subarray(data.length - tagBytes));
  try {
    return Buffer.concat([decipher.update(data.subarray(ivBytes, data.length - tagBytes)), decipher.final()]);
  } catch {
    throw new PayloadKeyError(
      `a payload encrypted with key "${id}" does not authenticate: it was altered, or key "${id}" is not the key that encrypted it`,
    );
  }
}
