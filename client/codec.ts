import { createCipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import {
  cipherMetadata,
  cipherName,
  encryptedEncoding,
  ivBytes,
  keyIdMetadata,
  openSealed,
} from './payload-crypto.js';
import type { PayloadKeys } from '../lib/payload-keys.js';

const text = new TextEncoder();
const untext = new TextDecoder();
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

export { encryptedEncoding, keyIdMetadata, PayloadKeyError } from './payload-crypto.js';

/**
 * AES-256-GCM payload codec with key ids (docs/architecture.md: histories at rest hold no plaintext inputs,
 * outputs, metrics or comments). Each payload — metadata and data together — is serialised and
 * encrypted with the current key and a fresh 96-bit IV; the result carries the key id, so after a
 * rotation payloads written under an older key still decrypt while it is configured. GCM's tag makes a
 * changed byte a loud error rather than a wrong value. Payloads that are not encrypted pass through
 * decode unchanged, so runs recorded before encryption was turned on stay readable.
 */
export function createPayloadCodec(keys: PayloadKeys): PayloadCodec {
  return {
    // A throw inside the executor becomes a rejection, as callers of a codec expect.
    encode: (payloads: Payload[]) =>
      new Promise<Payload[]>((resolve) => resolve(payloads.map((payload) => encryptPayload(payload, keys)))),
    decode: (payloads: Payload[]) =>
      new Promise<Payload[]>((resolve) => resolve(payloads.map((payload) => decryptPayload(payload, keys)))),
  };
}

/** Encrypt one payload, whole, with the current key (what the codec's `encode` does to each). */
export function encryptPayload(payload: Payload, keys: PayloadKeys): Payload {
  const key = keys.keys[keys.current] as Buffer;
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const plain = PayloadMessage.encode(payload).finish();
  const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return {
    metadata: {
      encoding: text.encode(encryptedEncoding),
      [keyIdMetadata]: text.encode(keys.current),
      [cipherMetadata]: text.encode(cipherName),
    },
    data: new Uint8Array(sealed),
  };
}

/** The key id an encrypted payload names, or `undefined` for a payload that is not encrypted. */
export function encryptedWith(payload: Payload): string | undefined {
  const encoding = payload.metadata?.['encoding'];
  if (!encoding || untext.decode(encoding) !== encryptedEncoding) return undefined;
  const id = payload.metadata?.[keyIdMetadata];
  return id ? untext.decode(id) : '';
}

/**
 * Decrypt one payload (a payload that is not encrypted is returned as it is).
 *
 * @throws PayloadKeyError when its key is missing or its bytes do not authenticate.
 */
export function decryptPayload(payload: Payload, keys: PayloadKeys): Payload {
  const id = encryptedWith(payload);
  if (id === undefined) return payload;
  return PayloadMessage.decode(openSealed(id, keys, payload.data ?? new Uint8Array()));
}

/** The data converter for `keys` (none when encryption is off): workers, clients and replay share it. */
export function payloadConverter(keys: PayloadKeys | undefined): DataConverter | undefined {
  return keys ? { payloadCodecs: [createPayloadCodec(keys)] } : undefined;
}
