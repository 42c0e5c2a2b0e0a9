import { ed25519Verify } from './ed25519.js';

/**
 * Signed approvals and signed audit manifests (issue 15; docs/architecture.md decision 12): the canonical bytes a
 * person or an operator signs, and the checks the approval gate makes on a signed decision. Pure and
 * sandbox-safe, so workflow code verifies signatures and a replay re-derives every acceptance and
 * refusal; a browser can build the same payload and sign it with WebCrypto. Keys are Ed25519; public
 * keys travel as base64url of their 32 raw bytes, signatures as base64url of their 64 bytes.
 */

/** A registered public key, as the keys file holds it and as a run records it at start. */
export interface ApproverKey {
  /** `k-` and the first 16 hex digits of the SHA-256 of the raw public key. */
  keyId: string;
  /** Whose key it is: an approver id (the same ids as in the roles file). */
  identity: string;
  /** base64url of the 32-byte Ed25519 public key. */
  publicKey: string;
  created: string;
  /** After this instant the key signs nothing that counts. */
  expires?: string | null;
  /** When it was revoked (`sluice keys revoke`); a revoked key signs nothing that counts. */
  revoked?: string | null;
}

/** What an approver signs: the exact run, gate, model and metrics, the decision, when, and why. */
export interface ApprovalClaim {
  workflowId: string;
  /** Temporal's run id: a signature made for one run is refused by every other. */
  runId: string;
  gate: string;
  modelVersion: string;
  metricsDigest: string;
  approver: string;
  decision: 'approve' | 'reject';
  /** When the approver signed (ISO 8601). */
  at: string;
  comment: string | null;
  keyId: string;
}

/**
 * The signature carried by an approval request (`signature` in the `approval` signal and the
 * `submitApproval` update). `workflowId`, `runId` and `metricsDigest` repeat what was signed, so a
 * refusal can say exactly which of them differs; the gate verifies against its own values regardless.
 */
export type ApprovalSignature = {
  keyId: string;
  at: string;
  /** base64url of the 64-byte Ed25519 signature over {@link approvalPayload}. */
  value: string;
  workflowId?: string;
  runId?: string;
  metricsDigest?: string;
};

export const approvalPayloadFormat = 'sluice.approval/v1';
export const manifestPayloadFormat = 'sluice.audit-manifest/v1';

/**
 * The canonical text signed for a decision: a format tag and a JSON array in a fixed order, so there is
 * exactly one encoding of a claim (no key order or whitespace to disagree on), UTF-8 encoded.
 */
export function approvalPayload(claim: ApprovalClaim): string {
  return JSON.stringify([
    approvalPayloadFormat,
    claim.workflowId,
    claim.runId,
    claim.gate,
    claim.modelVersion,
    claim.metricsDigest,
    claim.approver,
    claim.decision,
    claim.at,
    claim.comment,
    claim.keyId,
  ]);
}

/** The canonical text signed for an audit export: its manifest's SHA-256 and the signing key. */
export function manifestPayload(manifestSha256: string, keyId: string, signedAt: string): string {
  return JSON.stringify([manifestPayloadFormat, manifestSha256, keyId, signedAt]);
}

/** Verify a base64url (or base64) signature of a UTF-8 payload with a base64url public key. */
export function verifyPayload(publicKey: string, payload: string, signature: string): boolean {
  const key = fromBase64(publicKey);
  const sig = fromBase64(signature);
  if (!key || !sig) return false;
  return ed25519Verify(key, utf8Bytes(payload), sig);
}

/** The gate's side of a signed decision: what it asks about, in this run. */
export interface SignedGate {
  workflowId: string;
  runId: string;
  step: string;
  modelVersion: string;
  metricsDigest: string;
  /** Whether the policy requires signatures (`approval.signed`). */
  required: boolean;
}

/** The request's side: who decided what, with what comment, and the signature (if any). */
export interface SignedRequest {
  approver: string;
  decision: 'approve' | 'reject';
  comment?: string | undefined;
  signature?: unknown;
}

/**
 * Why a decision's signature does not count, or `undefined` when it does (or when none is needed and
 * none is given). `keys` are those recorded at run start; `now` is workflow time (ms). Every reason
 * names the key, the person and the fix.
 */
export function signatureRefusal(
  gate: SignedGate,
  request: SignedRequest,
  keys: readonly ApproverKey[],
  now: number,
): string | undefined {
  if (request.signature === undefined || request.signature === null) {
    return gate.required
      ? `the decision by ${request.approver} is not signed, and this gate requires signed decisions (approval.signed): decide with \`sluice approve\`, or sign with \`sluice sign\` and send its output`
      : undefined;
  }
  const signature = asSignature(request.signature);
  if (!signature) {
    return `the signature of ${request.approver}'s decision is malformed: it needs { keyId, at, value } with value the base64url Ed25519 signature (use \`sluice sign\`)`;
  }
  const key = keys.find((k) => k.keyId === signature.keyId);
  if (!key) {
    return `key ${signature.keyId} was not registered for ${request.approver} when this run started: a key registered later (or never) does not count for this run; register it with \`sluice keys create\` before starting a run`;
  }
  if (key.identity !== request.approver) {
    return `key ${key.keyId} belongs to ${key.identity}, not to ${request.approver}: sign with your own key`;
  }
  if (key.revoked && Date.parse(key.revoked) <= now) {
    return `key ${key.keyId} of ${key.identity} was revoked at ${key.revoked}: create a new key with \`sluice keys create\` and decide on a new run`;
  }
  if (key.expires && Date.parse(key.expires) <= now) {
    return `key ${key.keyId} of ${key.identity} expired at ${key.expires}: create a new key with \`sluice keys create\` and decide on a new run`;
  }
  if (signature.workflowId !== undefined && signature.workflowId !== gate.workflowId) {
    return `${request.approver}'s signature was made for run ${signature.workflowId}, not ${gate.workflowId}: a signature from another run does not count here`;
  }
  if (signature.runId !== undefined && signature.runId !== gate.runId) {
    return `${request.approver}'s signature was made for run id ${signature.runId}, not this run's ${gate.runId}: a signature from another run does not count here`;
  }
  if (signature.metricsDigest !== undefined && signature.metricsDigest !== gate.metricsDigest) {
    return `${request.approver} signed metrics digest ${signature.metricsDigest}, but gate "${gate.step}" shows metrics digest ${gate.metricsDigest}: look at the current evaluation and sign again`;
  }
  const claim: ApprovalClaim = {
    workflowId: gate.workflowId,
    runId: gate.runId,
    gate: gate.step,
    modelVersion: gate.modelVersion,
    metricsDigest: gate.metricsDigest,
    approver: request.approver,
    decision: request.decision,
    at: signature.at,
    comment: request.comment ?? null,
    keyId: key.keyId,
  };
  if (!verifyPayload(key.publicKey, approvalPayload(claim), signature.value)) {
    return `the signature by key ${key.keyId} does not verify over this run (${gate.workflowId}), gate "${gate.step}", model version ${gate.modelVersion}, metrics digest ${gate.metricsDigest}, decision ${request.decision} and comment: it was made over something else, or forged; sign this decision again`;
  }
  return undefined;
}

/** A signature object from untrusted JSON, or null when malformed. */
export function asSignature(value: unknown): ApprovalSignature | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const { keyId, at, value: sig } = record;
  if (typeof keyId !== 'string' || typeof at !== 'string' || typeof sig !== 'string') return null;
  if (Number.isNaN(Date.parse(at))) return null;
  const optional = (name: 'workflowId' | 'runId' | 'metricsDigest') =>
    typeof record[name] === 'string' ? { [name]: record[name] } : {};
  return {
    keyId,
    at,
    value: sig,
    ...optional('workflowId'),
    ...optional('runId'),
    ...optional('metricsDigest'),
  };
}

/** UTF-8 bytes of a string (no TextEncoder needed). */
export function utf8Bytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x80) out.push(code);
    else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else {
      out.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 63),
        0x80 | ((code >> 6) & 63),
        0x80 | (code & 63),
      );
    }
  }
  return Uint8Array.from(out);
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Bytes from base64 or base64url (padding optional), or null when it is not that. */
export function fromBase64(text: string): Uint8Array | null {
  const clean = text.replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/_-]*$/.test(clean) || clean.length % 4 === 1) return null;
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    const index =
      char === '+' || char === '-' ? 62 : char === '/' || char === '_' ? 63 : alphabet.indexOf(char);
    buffer = (buffer << 6) | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}
