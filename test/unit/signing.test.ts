import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createKey,
  loadKeys,
  openSigningKey,
  revokeKey,
  signApproval,
  type SigningKey,
} from '../../lib/keys.js';
import { ed25519Verify } from '../../pipelines/ed25519.js';
import { sha512 } from '../../pipelines/sha512.js';
import { signatureRefusal, type ApproverKey, type SignedGate } from '../../pipelines/signing.js';

const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));

describe('Ed25519 verification in plain TypeScript (workflow code)', () => {
  it('accepts the RFC 8032 test vectors and refuses them altered', () => {
    const vectors = [
      {
        publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
        message: '',
        signature:
          'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      },
      {
        publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
        message: '72',
        signature:
          '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
      },
    ];
    for (const v of vectors) {
      expect(ed25519Verify(hex(v.publicKey), hex(v.message), hex(v.signature))).toBe(true);
      const bent = hex(v.signature);
      bent[5] = (bent[5] ?? 0) ^ 1;
      expect(ed25519Verify(hex(v.publicKey), hex(v.message), bent)).toBe(false);
      expect(ed25519Verify(hex(v.publicKey), Uint8Array.of(1, 2, 3), hex(v.signature))).toBe(false);
    }
    expect(ed25519Verify(new Uint8Array(31), new Uint8Array(0), new Uint8Array(64))).toBe(false);
  });

  it('agrees with Node crypto on signatures made by fresh keys, and SHA-512 with Node', async () => {
    const { createHash } = await import('node:crypto');
    for (const n of [0, 111, 112, 128, 300]) {
      const data = Buffer.alloc(n, n % 251);
      expect(Buffer.from(sha512(data)).toString('hex')).toBe(createHash('sha512').update(data).digest('hex'));
    }
    for (let i = 0; i < 3; i++) {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
      const message = Buffer.from(`decision ${i} — ünïcode`);
      expect(ed25519Verify(raw, message, sign(null, message, privateKey))).toBe(true);
    }
  });
});

describe('signed approval decisions', () => {
  let dir: string;
  let keysFile: string;
  let rita: SigningKey;
  let ritaKey: ApproverKey;
  let mallory: SigningKey;
  const gate: SignedGate = {
    workflowId: 'flight-delay-1',
    runId: 'run-1',
    step: 'approve',
    modelVersion: 'abc123',
    metricsDigest: 'd1g35t',
    required: true,
  };
  const now = Date.parse('2026-12-05T12:00:00Z');
  const at = '2026-12-05T11:59:00.000Z';
  const claim = (over: Partial<Parameters<typeof signApproval>[1]> = {}) => ({
    workflowId: gate.workflowId,
    runId: gate.runId,
    gate: gate.step,
    modelVersion: gate.modelVersion,
    metricsDigest: gate.metricsDigest,
    approver: 'rita',
    decision: 'approve' as const,
    at,
    comment: 'fine',
    ...over,
  });
  const request = (signature: unknown) => ({
    approver: 'rita',
    decision: 'approve' as const,
    comment: 'fine',
    signature,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-keys-'));
    keysFile = join(dir, 'keys.json');
    const created = await createKey({ identity: 'rita', keysFile, keysDir: join(dir, 'private') });
    ritaKey = created.key;
    rita = await openSigningKey(created.privateKeyFile);
    const other = await createKey({ identity: 'mallory', keysFile, keysDir: join(dir, 'private') });
    mallory = await openSigningKey(other.privateKeyFile);
  });

  it('keys create: a 0600 private key in the keys directory, its public key registered; never overwritten', async () => {
    const file = join(dir, 'private', 'rita.pem');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(rita.keyId).toBe(ritaKey.keyId);
    expect((await loadKeys(keysFile)).map((k) => [k.identity, k.revoked])).toEqual([
      ['rita', null],
      ['mallory', null],
    ]);
    await expect(createKey({ identity: 'rita', keysFile, keysDir: join(dir, 'private') })).rejects.toThrow(
      /rita\.pem exists: Sluice never overwrites a private key/,
    );
  });

  it('a good signature counts; unsigned counts only when the policy does not require signatures', async () => {
    const keys = await loadKeys(keysFile);
    expect(signatureRefusal(gate, request(signApproval(rita, claim())), keys, now)).toBeUndefined();
    expect(signatureRefusal(gate, request(undefined), keys, now)).toMatch(
      /^the decision by rita is not signed, and this gate requires signed decisions/,
    );
    expect(signatureRefusal({ ...gate, required: false }, request(undefined), keys, now)).toBeUndefined();
    expect(signatureRefusal(gate, request({ keyId: 'x' }), keys, now)).toMatch(/malformed/);
  });

  it('refuses a signature over another model version, metrics digest, decision or comment, naming what differs', async () => {
    const keys = await loadKeys(keysFile);
    const otherDigest = signApproval(rita, claim({ metricsDigest: 'other' }));
    expect(signatureRefusal(gate, request(otherDigest), keys, now)).toBe(
      `rita signed metrics digest other, but gate "approve" shows metrics digest d1g35t: look at the current evaluation and sign again`,
    );
    // Without the hints the signature carries, the verification itself fails.
    const { metricsDigest: _, ...bare } = signApproval(rita, claim({ modelVersion: 'zzz999' }));
    expect(signatureRefusal(gate, request(bare), keys, now)).toMatch(
      /^the signature by key k-[0-9a-f]{16} does not verify over this run \(flight-delay-1\), gate "approve", model version abc123/,
    );
    const rejectSigned = signApproval(rita, claim({ decision: 'reject' }));
    expect(signatureRefusal(gate, request(rejectSigned), keys, now)).toMatch(/does not verify/);
    const otherComment = signApproval(rita, claim({ comment: 'looks bad' }));
    expect(signatureRefusal(gate, request(otherComment), keys, now)).toMatch(/does not verify/);
  });

  it('refuses a signature replayed from another run, a key of someone else, and a key registered after the run started', async () => {
    const keys = await loadKeys(keysFile);
    const elsewhere = signApproval(rita, claim({ runId: 'run-0', workflowId: 'flight-delay-0' }));
    expect(signatureRefusal(gate, request(elsewhere), keys, now)).toMatch(
      /^rita's signature was made for run flight-delay-0, not flight-delay-1: a signature from another run does not count here$/,
    );
    const { workflowId: _w, runId: _r, ...stripped } = elsewhere;
    expect(signatureRefusal(gate, request(stripped), keys, now)).toMatch(/does not verify/);
    const forged = signApproval(mallory, claim());
    expect(signatureRefusal(gate, request(forged), keys, now)).toMatch(
      new RegExp(`^key ${mallory.keyId} belongs to mallory, not to rita: sign with your own key$`),
    );
    const recordedAtStart = keys.filter((k) => k.identity !== 'rita');
    expect(signatureRefusal(gate, request(signApproval(rita, claim())), recordedAtStart, now)).toMatch(
      new RegExp(`^key ${rita.keyId} was not registered for rita when this run started`),
    );
  });

  it('refuses an expired or revoked key', async () => {
    const signature = signApproval(rita, claim());
    const expired = [{ ...ritaKey, expires: '2026-12-01T00:00:00.000Z' }];
    expect(signatureRefusal(gate, request(signature), expired, now)).toMatch(
      /^key k-[0-9a-f]{16} of rita expired at 2026-12-01T00:00:00.000Z/,
    );
    const revoked = await revokeKey(keysFile, ritaKey.keyId, new Date('2026-12-02T00:00:00Z'));
    expect(revoked.revoked).toBe('2026-12-02T00:00:00.000Z');
    expect(signatureRefusal(gate, request(signature), await loadKeys(keysFile), now)).toMatch(
      /^key k-[0-9a-f]{16} of rita was revoked at 2026-12-02T00:00:00.000Z/,
    );
    await expect(revokeKey(keysFile, 'k-0000000000000000')).rejects.toThrow(/no key k-0000000000000000 in/);
  });
});
