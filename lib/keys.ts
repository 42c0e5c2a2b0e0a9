import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../pipelines/errors.js';
import {
  approvalPayload,
  manifestPayload,
  type ApprovalClaim,
  type ApprovalSignature,
  type ApproverKey,
} from '../pipelines/signing.js';
import { writeFileAtomic } from './fs-atomic.js';

/**
 * Ed25519 keys on disk (issue 15, items 2–3): a person's private key stays in their own file (mode 0600,
 * default `~/.sluice/keys/<identity>.pem`); public keys are registered in the keys file beside the roles
 * file (`.sluice/keys.json`), from which a run records its approvers' keys at start. Signing uses Node's
 * crypto; the canonical payloads are `pipelines/signing.ts`'s, shared with workflow code and browsers.
 */
const identityPattern = /^[A-Za-z0-9._@-]+$/;
const keySchema = z.strictObject({
  keyId: z.string().regex(/^k-[0-9a-f]{16}$/),
  identity: z.string().regex(identityPattern),
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'base64url of 32 bytes'),
  created: z.iso.datetime(),
  expires: z.iso.datetime().nullable().default(null),
  revoked: z.iso.datetime().nullable().default(null),
});
const keysFileSchema = z.strictObject({ keys: z.array(keySchema) });

/** The id of a public key: `k-` and the first 16 hex digits of its raw bytes' SHA-256. */
export function keyIdOf(publicKeyRaw: Uint8Array): string {
  return `k-${createHash('sha256').update(publicKeyRaw).digest('hex').slice(0, 16)}`;
}

/** The registered keys; none when the file does not exist. */
export async function loadKeys(file: string): Promise<ApproverKey[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new InvalidInputError(
      `keys file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): fix SLUICE_KEYS_FILE or its permissions`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(
      `keys file ${file} is not JSON (${(error as Error).message}): restore it, or remove it and run \`sluice keys create\` again`,
    );
  }
  const parsed = keysFileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidInputError(`keys file ${file} is invalid: ${issues.join('; ')}`);
  }
  return parsed.data.keys;
}

async function saveKeys(file: string, keys: readonly ApproverKey[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify({ keys }, null, 2)}\n`);
}

export interface CreateKeyOptions {
  identity: string;
  /** The public keys file to register in. */
  keysFile: string;
  /** Where the private key goes; default `<keysDir>/<identity>.pem`. */
  out?: string | undefined;
  keysDir: string;
  /** When the key stops counting (ISO 8601), if ever. */
  expires?: string | undefined;
  now?: Date;
}

/**
 * Make an Ed25519 key pair: the private key to `out` (PKCS#8 PEM, mode 0600, never overwritten), the
 * public key registered in the keys file.
 *
 * @throws InvalidInputError for a bad identity or expiry, or when the private key file exists.
 */
export async function createKey(
  options: CreateKeyOptions,
): Promise<{ key: ApproverKey; privateKeyFile: string }> {
  if (!identityPattern.test(options.identity)) {
    throw new InvalidInputError(
      `identity "${options.identity}" is not an id: use letters, digits, . _ @ - (the same ids as in the roles file)`,
    );
  }
  const created = (options.now ?? new Date()).toISOString();
  if (options.expires !== undefined && Number.isNaN(Date.parse(options.expires))) {
    throw new InvalidInputError(
      `--expires "${options.expires}" is not a date: give ISO 8601, e.g. 2027-06-30`,
    );
  }
  const privateKeyFile = options.out ?? join(options.keysDir, `${options.identity}.pem`);
  if (await exists(privateKeyFile)) {
    throw new InvalidInputError(
      `${privateKeyFile} exists: Sluice never overwrites a private key; choose another path with --out, or revoke the old key first`,
    );
  }
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  const key: ApproverKey = {
    keyId: keyIdOf(raw),
    identity: options.identity,
    publicKey: Buffer.from(raw).toString('base64url'),
    created,
    expires: options.expires ? new Date(options.expires).toISOString() : null,
    revoked: null,
  };
  await mkdir(dirname(privateKeyFile), { recursive: true, mode: 0o700 });
  await writeFileAtomic(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o600);
  await chmod(privateKeyFile, 0o600);
  const keys = await loadKeys(options.keysFile);
  await saveKeys(options.keysFile, [...keys, key]);
  return { key, privateKeyFile };
}

/**
 * Mark a key revoked from now on: decisions it signs are refused by runs started after this.
 *
 * @throws InvalidInputError when no such key is registered.
 */
export async function revokeKey(keysFile: string, keyId: string, now = new Date()): Promise<ApproverKey> {
  const keys = await loadKeys(keysFile);
  const key = keys.find((k) => k.keyId === keyId);
  if (!key) {
    throw new InvalidInputError(
      `no key ${keyId} in ${keysFile}: \`sluice keys list\` shows the registered keys`,
    );
  }
  const revoked: ApproverKey = { ...key, revoked: key.revoked ?? now.toISOString() };
  await saveKeys(
    keysFile,
    keys.map((k) => (k.keyId === keyId ? revoked : k)),
  );
  return revoked;
}

/** A private key file, with the id of its public key. */
export interface SigningKey {
  keyId: string;
  file: string;
  sign(payload: string): string;
}

/**
 * Open a private key file for signing.
 *
 * @throws InvalidInputError naming the file when it is missing or not an Ed25519 private key.
 */
export async function openSigningKey(file: string): Promise<SigningKey> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidInputError(
      `cannot read private key ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): create one with \`sluice keys create --identity <id>\` or give --key <path>`,
    );
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new InvalidInputError(`${file} is not a private key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InvalidInputError(
      `${file} holds a ${key.asymmetricKeyType ?? 'unknown'} key; Sluice signs with Ed25519 keys from \`sluice keys create\``,
    );
  }
  const keyId = keyIdOf(rawPublicKey(createPublicKey(key)));
  return {
    keyId,
    file,
    sign: (payload) => sign(null, Buffer.from(payload, 'utf8'), key).toString('base64url'),
  };
}

/** Sign a decision: the signature to put in the approval request. */
export function signApproval(key: SigningKey, claim: Omit<ApprovalClaim, 'keyId'>): ApprovalSignature {
  const value = key.sign(approvalPayload({ ...claim, keyId: key.keyId }));
  return {
    keyId: key.keyId,
    at: claim.at,
    value,
    workflowId: claim.workflowId,
    runId: claim.runId,
    metricsDigest: claim.metricsDigest,
  };
}

/** Verify with Node's crypto (offline checks in `sluice audit verify`). */
export function verifyWithNode(publicKey: string, payload: string, signature: string): boolean {
  try {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: publicKey },
      format: 'jwk',
    });
    return verify(null, Buffer.from(payload, 'utf8'), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Sign an audit manifest's SHA-256 with an operator key. */
export function signManifest(
  key: SigningKey,
  manifestSha256: string,
  signedAt: string,
): { keyId: string; signedAt: string; manifestSha256: string; value: string } {
  return {
    keyId: key.keyId,
    signedAt,
    manifestSha256,
    value: key.sign(manifestPayload(manifestSha256, key.keyId, signedAt)),
  };
}

function rawPublicKey(key: ReturnType<typeof createPublicKey>): Uint8Array {
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new Error('an Ed25519 public key exported no x');
  return Buffer.from(x, 'base64url');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
