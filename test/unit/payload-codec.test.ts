import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { decryptHistory, encryptionKeyIds, mapPayloads, requireKeys } from '../../audit/encrypted-history.js';
import { historyFacts } from '../../audit/history-facts.js';
import { parseHistory } from '../../audit/history.js';
import { loadConfig } from '../../lib/config.js';
import { createPayloadCodec, encryptPayload, PayloadKeyError } from '../../client/codec.js';
import { parsePayloadKeys } from '../../lib/payload-keys.js';

const hex1 = 'a1'.repeat(32);
const b64 = Buffer.alloc(32, 7).toString('base64');
const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (value: unknown): Payload => ({
  metadata: { encoding: enc.encode('json/plain') },
  data: enc.encode(JSON.stringify(value)),
});

describe('SLUICE_PAYLOAD_KEYS', () => {
  it('takes id:key pairs, hex or base64; the first encrypts', () => {
    const keys = parsePayloadKeys(`2026-02:${b64}, 2026-01:${hex1}`);
    expect(keys.current).toBe('2026-02');
    expect(Object.keys(keys.keys)).toEqual(['2026-02', '2026-01']);
    expect(keys.keys['2026-01']).toEqual(Buffer.from(hex1, 'hex'));
  });

  it('refuses a bad entry naming it, never echoing key material', () => {
    expect(() => parsePayloadKeys('nokey')).toThrow(/entry 1 has no usable key id/);
    expect(() => parsePayloadKeys('k1:abcd')).toThrow('SLUICE_PAYLOAD_KEYS key "k1" is not 32 bytes');
    expect(() => parsePayloadKeys(`k1:${hex1},k1:${b64}`)).toThrow('names key "k1" twice');
    try {
      loadConfig({ SLUICE_PAYLOAD_KEYS: `k1:${hex1.slice(2)}` });
    } catch (error) {
      expect((error as Error).message).not.toContain(hex1.slice(2, 20));
    }
    expect(loadConfig({}).payloadKeys).toBeUndefined();
    expect(loadConfig({ SLUICE_PAYLOAD_KEYS: `k1:${hex1}` }).payloadKeys?.current).toBe('k1');
  });
});

describe('the AES-256-GCM payload codec', () => {
  const k1 = parsePayloadKeys(`k1:${hex1}`);
  const rotated = parsePayloadKeys(`k2:${b64},k1:${hex1}`);

  it('encrypts the whole payload (metadata too) under the current key id, and decrypts it back', async () => {
    const codec = createPayloadCodec(k1);
    const [sealed] = await codec.encode([json({ comment: 'bias on slice X' })]);
    expect(dec.decode(sealed!.metadata!['encoding'])).toBe('binary/encrypted');
    expect(dec.decode(sealed!.metadata!['encryption-key-id'])).toBe('k1');
    expect(Buffer.from(sealed!.data!).toString('latin1')).not.toContain('bias');
    const [opened] = await codec.decode([sealed!]);
    expect(JSON.parse(dec.decode(opened!.data))).toEqual({ comment: 'bias on slice X' });
    expect(dec.decode(opened!.metadata!['encoding'])).toBe('json/plain');
  });

  it('after a rotation, old payloads still decrypt and new ones use the new key', async () => {
    const [old] = await createPayloadCodec(k1).encode([json(1)]);
    const codec = createPayloadCodec(rotated);
    expect(JSON.parse(dec.decode((await codec.decode([old!]))[0]!.data))).toBe(1);
    const [fresh] = await codec.encode([json(2)]);
    expect(dec.decode(fresh!.metadata!['encryption-key-id'])).toBe('k2');
  });

  it('a missing key and an altered byte are clear errors; plain payloads pass through', async () => {
    const [sealed] = await createPayloadCodec(rotated).encode([json('x')]);
    await expect(createPayloadCodec(k1).decode([sealed!])).rejects.toThrow(
      new PayloadKeyError(
        'a payload is encrypted with key "k2", which is not in SLUICE_PAYLOAD_KEYS (it has k1): add that key to decrypt it',
      ),
    );
    const altered = { ...sealed!, data: Uint8Array.from(sealed!.data!) };
    altered.data[20] = altered.data[20]! ^ 1;
    await expect(createPayloadCodec(rotated).decode([altered])).rejects.toThrow(
      /does not authenticate: it was altered/,
    );
    const plain = json({ a: 1 });
    expect(await createPayloadCodec(k1).decode([plain])).toEqual([plain]);
  });
});

describe('an encrypted history, as the audit tools meet it', async () => {
  const file = fileURLToPath(new URL('../histories/lifecycle-approved.json', import.meta.url));
  const keys = parsePayloadKeys(`k1:${hex1}`);
  const plain = parseHistory(await readFile(file, 'utf8'), 'lifecycle-approved.json');
  const sealed = parseHistory(await readFile(file, 'utf8'), 'lifecycle-approved.json');
  mapPayloads(sealed.history, (p) => encryptPayload(p, keys));

  it('names the keys it needs, and is refused in one line without them', () => {
    expect([...encryptionKeyIds(sealed.history)]).toEqual(['k1']);
    expect(encryptionKeyIds(plain.history).size).toBe(0);
    expect(() => requireKeys([{ source: 'h.json', loaded: sealed }], undefined)).toThrow(
      'h.json holds payloads encrypted with key "k1", which cannot be read: SLUICE_PAYLOAD_KEYS is not set; set it to include that key',
    );
    expect(() => requireKeys([{ source: 'h.json', loaded: sealed }], parsePayloadKeys(`k9:${b64}`))).toThrow(
      'h.json holds payloads encrypted with key "k1", which SLUICE_PAYLOAD_KEYS (k9) does not have',
    );
  });

  it('reads the same, once decrypted, as the plain history', () => {
    expect(historyFacts(sealed).signals[0]?.args[0]).toMatchObject({ ok: false });
    expect(historyFacts(decryptHistory(sealed, keys))).toEqual(historyFacts(plain));
  });
});
