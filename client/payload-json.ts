import type { PayloadKeys } from '../lib/payload-keys.js';
import { InvalidInputError } from '../pipelines/errors.js';
import { encryptedEncoding, encryptedWithoutKeys, keyIdMetadata, openSealed } from './payload-crypto.js';

/** A payload as Temporal's HTTP API writes it with `noPayloadShorthand`: metadata and data in base64. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

interface RawPayload {
  metadata: Record<string, Uint8Array>;
  data: Uint8Array;
}

const untext = new TextDecoder();

/**
 * The value of one payload read over the HTTP API, decoded as the SDK's default converter and Sluice's
 * codec would: `json/plain`, `binary/null`, `binary/plain`, and `binary/encrypted` (decrypted with
 * `keys`, the sealed payload read from its protobuf bytes by {@link readPayloadMessage}).
 *
 * @throws PayloadKeyError when an encrypted payload's key is missing or its bytes do not authenticate.
 */
export function decodeJsonPayload(payload: JsonPayload, keys: PayloadKeys | undefined): unknown {
  const metadata: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) metadata[key] = base64(value);
  return decodeRaw({ metadata, data: base64(payload.data ?? '') }, keys);
}

function decodeRaw(payload: RawPayload, keys: PayloadKeys | undefined): unknown {
  const encoding = payload.metadata['encoding'] ? untext.decode(payload.metadata['encoding']) : '';
  switch (encoding) {
    case 'json/plain':
      return JSON.parse(untext.decode(payload.data)) as unknown;
    case 'binary/null':
      return undefined;
    case 'binary/plain':
      return payload.data;
    case encryptedEncoding: {
      if (!keys) {
        throw new InvalidInputError(encryptedWithoutKeys);
      }
      const id = payload.metadata[keyIdMetadata] ? untext.decode(payload.metadata[keyIdMetadata]) : '';
      return decodeRaw(readPayloadMessage(openSealed(id, keys, payload.data)), keys);
    }
    default:
      throw new InvalidInputError(
        `a payload has encoding "${encoding}", which Sluice does not decode: it was not written by Sluice`,
      );
  }
}

/**
 * Read a serialised `temporal.api.common.v1.Payload` (field 1: map<string, bytes> metadata; field 2:
 * bytes data; others skipped) from protobuf's wire format, without the protobuf runtime.
 */
export function readPayloadMessage(bytes: Uint8Array): RawPayload {
  const payload: RawPayload = { metadata: {}, data: new Uint8Array() };
  for (const field of fields(bytes)) {
    if (field.number === 1 && field.bytes) {
      let key = '';
      let value: Uint8Array = new Uint8Array();
      for (const entry of fields(field.bytes)) {
        if (entry.number === 1 && entry.bytes) key = untext.decode(entry.bytes);
        if (entry.number === 2 && entry.bytes) value = entry.bytes;
      }
      payload.metadata[key] = value;
    } else if (field.number === 2 && field.bytes) {
      payload.data = field.bytes;
    }
  }
  return payload;
}

function* fields(bytes: Uint8Array): Generator<{ number: number; bytes?: Uint8Array }> {
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length || shift > 49)
        throw new InvalidInputError('a sealed payload is not a protobuf Payload');
      const byte = bytes[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const tag = varint();
    const wire = tag % 8;
    const number = Math.floor(tag / 8);
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint();
      if (at + length > bytes.length)
        throw new InvalidInputError('a sealed payload is not a protobuf Payload');
      yield { number, bytes: bytes.subarray(at, at + length) };
      at += length;
      continue;
    } else throw new InvalidInputError('a sealed payload is not a protobuf Payload');
  }
}

function base64(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, 'base64'));
}
