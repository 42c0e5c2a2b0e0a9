import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { encryptPayload, PayloadKeyError } from '../../client/codec.js';
import { decodeJsonPayload, readPayloadMessage, type JsonPayload } from '../../client/payload-json.js';
import { parsePayloadKeys } from '../../lib/payload-keys.js';

const enc = new TextEncoder();
const keys = parsePayloadKeys(`k2:${'b2'.repeat(32)},k1:${'a1'.repeat(32)}`);

/** A payload as Temporal's HTTP API writes it with `noPayloadShorthand`. */
function asHttpJson(payload: Payload): JsonPayload {
  const metadata = Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  );
  return { metadata, data: Buffer.from(payload.data ?? []).toString('base64') };
}

const json = (value: unknown): Payload => ({
  metadata: { encoding: enc.encode('json/plain') },
  data: enc.encode(JSON.stringify(value)),
});

describe('payloads read over the HTTP API', () => {
  const status = {
    pipeline: 'flight-delay',
    steps: [{ id: 'train', state: 'running', attempt: 2 }],
    note: 'é ✓',
  };

  it('decodes json/plain and binary/null as the SDK converter does', () => {
    expect(decodeJsonPayload(asHttpJson(json(status)), undefined)).toEqual(status);
    expect(
      decodeJsonPayload({ metadata: { encoding: Buffer.from('binary/null').toString('base64') } }, undefined),
    ).toBe(undefined);
  });

  it('decrypts what the codec encrypted, with the key it names (rotation: an older key still decrypts)', () => {
    expect(decodeJsonPayload(asHttpJson(encryptPayload(json(status), keys)), keys)).toEqual(status);
    const older = { current: 'k1', keys: keys.keys };
    expect(decodeJsonPayload(asHttpJson(encryptPayload(json([1, 2]), older)), keys)).toEqual([1, 2]);
  });

  it('refuses an encrypted payload without keys, with a missing key, or with a changed byte', () => {
    const sealed = asHttpJson(encryptPayload(json(status), keys));
    expect(() => decodeJsonPayload(sealed, undefined)).toThrow(/SLUICE_PAYLOAD_KEYS is not set/);
    expect(() => decodeJsonPayload(sealed, parsePayloadKeys(`k9:${'c3'.repeat(32)}`))).toThrow(
      PayloadKeyError,
    );
    const bytes = Buffer.from(sealed.data ?? '', 'base64');
    bytes[20] = (bytes[20] ?? 0) ^ 1;
    expect(() => decodeJsonPayload({ ...sealed, data: bytes.toString('base64') }, keys)).toThrow(
      /does not authenticate/,
    );
  });

  it('reads a serialised Payload message as protobufjs wrote it, skipping fields it does not know', () => {
    const message = proto.temporal.api.common.v1.Payload.encode({
      metadata: {
        encoding: enc.encode('json/plain'),
        'encryption-key-id': enc.encode('k2'),
        empty: new Uint8Array(),
      },
      data: enc.encode('{"a":1}'),
      externalPayloads: [{}, {}],
    }).finish();
    const read = readPayloadMessage(message);
    expect(Object.keys(read.metadata).sort()).toEqual(['empty', 'encoding', 'encryption-key-id']);
    expect(new TextDecoder().decode(read.metadata['encryption-key-id'])).toBe('k2');
    expect(new TextDecoder().decode(read.data)).toBe('{"a":1}');
    expect(() => readPayloadMessage(message.subarray(0, message.length - 3))).toThrow(
      /not a protobuf Payload/,
    );
  });

  it('refuses an encoding Sluice does not write, naming it', () => {
    const odd = { metadata: { encoding: Buffer.from('binary/protobuf').toString('base64') }, data: '' };
    expect(() => decodeJsonPayload(odd, undefined)).toThrow(/encoding "binary\/protobuf"/);
  });
});
