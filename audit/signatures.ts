import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { verifyWithNode, signManifest, type SigningKey } from '../lib/keys.js';
import type { JsonObject } from '../pipelines/json.js';
import {
  approvalPayload,
  asSignature,
  manifestPayload,
  type ApprovalClaim,
  type ApproverKey,
} from '../pipelines/signing.js';
import { writeFileAtomic } from '../lib/fs-atomic.js';
import { historyFacts, type HistoryFacts } from './history-facts.js';
import type { HistoryInput } from './read-inputs.js';
import { field, isObject, list, text } from './json-read.js';
import { manifestName } from './manifest.js';

/** The signature of an export's manifest, beside it. */
export const manifestSignatureName = 'manifest.sig.json';

const manifestSignatureSchema = z.strictObject({
  format: z.literal('sluice.audit-signature/v1'),
  keyId: z.string(),
  signedAt: z.string(),
  manifestSha256: z.string().regex(/^[0-9a-f]{64}$/),
  value: z.string(),
});

/**
 * Sign an export's manifest with an operator key (`sluice audit export --sign-key`): the manifest
 * holds every file's SHA-256, so the signature covers the whole export. The signature names its key;
 * `sluice audit verify` checks it against the keys file, so a history rewritten together with its
 * manifest shows as an invalid signature.
 */
export async function signExport(dir: string, key: SigningKey, now = new Date()): Promise<string> {
  const manifest = await readFile(join(dir, manifestName));
  const sha256 = createHash('sha256').update(manifest).digest('hex');
  const signature = signManifest(key, sha256, now.toISOString());
  await writeFileAtomic(
    join(dir, manifestSignatureName),
    `${JSON.stringify({ format: 'sluice.audit-signature/v1', ...signature }, null, 2)}\n`,
  );
  return signature.keyId;
}

/** What checking an export's manifest signature found. */
export type ManifestSignatureCheck =
  | { state: 'valid'; keyId: string; identity: string; signedAt: string }
  | { state: 'unsigned' }
  | { state: 'invalid'; keyId: string | null; reason: string };

/** Check `manifest.sig.json` against the manifest's bytes and the registered keys. */
export async function checkManifestSignature(
  dir: string,
  keys: readonly ApproverKey[],
): Promise<ManifestSignatureCheck> {
  let raw: string;
  try {
    raw = await readFile(join(dir, manifestSignatureName), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'unsigned' };
    throw error;
  }
  let parsed: z.output<typeof manifestSignatureSchema>;
  try {
    parsed = manifestSignatureSchema.parse(JSON.parse(raw));
  } catch {
    return {
      state: 'invalid',
      keyId: null,
      reason: `${manifestSignatureName} is not a Sluice manifest signature`,
    };
  }
  const sha256 = createHash('sha256')
    .update(await readFile(join(dir, manifestName)))
    .digest('hex');
  const key = keys.find((k) => k.keyId === parsed.keyId);
  if (!key) {
    return {
      state: 'invalid',
      keyId: parsed.keyId,
      reason: `signed by key ${parsed.keyId}, which is not in the keys file: an unknown key proves nothing`,
    };
  }
  if (sha256 !== parsed.manifestSha256) {
    return {
      state: 'invalid',
      keyId: parsed.keyId,
      reason: `manifest.json hashes to ${sha256}, but ${key.identity} signed ${parsed.manifestSha256}: the manifest was rewritten after it was signed`,
    };
  }
  if (!verifyWithNode(key.publicKey, manifestPayload(sha256, key.keyId, parsed.signedAt), parsed.value)) {
    return {
      state: 'invalid',
      keyId: parsed.keyId,
      reason: `the signature by key ${key.keyId} (${key.identity}) does not verify: it was altered or forged`,
    };
  }
  return { state: 'valid', keyId: key.keyId, identity: key.identity, signedAt: parsed.signedAt };
}

/** One approval decision's signature, re-checked offline. */
export interface ApprovalSignatureCheck {
  workflowId: string;
  gate: string;
  approver: string;
  decision: string;
  keyId: string | null;
  ok: boolean;
  reason: string;
}

/**
 * Re-check every signed decision in run histories against the public keys the run recorded at start,
 * with Node's crypto (independently of the workflow's own verification). A decision accepted by a gate
 * that requires signatures but carrying none fails too.
 */
export function checkApprovalSignatures(histories: readonly HistoryInput[]): ApprovalSignatureCheck[] {
  return histories.flatMap(({ loaded }) => approvalChecks(historyFacts(loaded)));
}

function approvalChecks(facts: HistoryFacts): ApprovalSignatureCheck[] {
  const input = facts.input[0]?.ok ? facts.input[0].value : null;
  const keys = list(field(input, 'approverKeys')).filter(isObject) as unknown as ApproverKey[];
  const detail = facts.close.failure?.details[0];
  const status =
    facts.close.kind === 'completed' ? facts.close.result : detail?.ok ? detail.value : undefined;
  const gates = list(field(status, 'approvals')).filter(isObject);
  return gates.flatMap((gate) => {
    const step = text(gate['step']) ?? '';
    const required = field(gate['policy'], 'signed') === true;
    return list(gate['decisions'])
      .filter(isObject)
      .flatMap((d): ApprovalSignatureCheck[] => check(facts, keys, step, required, d));
  });
}

function check(
  facts: HistoryFacts,
  keys: readonly ApproverKey[],
  step: string,
  required: boolean,
  d: JsonObject,
): ApprovalSignatureCheck[] {
  const approver = text(d['approver']) ?? '';
  const decision = text(d['decision']) ?? '';
  const base = { workflowId: facts.workflowId, gate: step, approver, decision };
  if (d['signature'] === undefined) {
    return required
      ? [{ ...base, keyId: null, ok: false, reason: 'accepted unsigned by a gate that requires signatures' }]
      : [];
  }
  const signature = asSignature(d['signature']);
  if (!signature) return [{ ...base, keyId: null, ok: false, reason: 'the recorded signature is malformed' }];
  const key = keys.find((k) => k.keyId === signature.keyId);
  if (!key) {
    return [
      {
        ...base,
        keyId: signature.keyId,
        ok: false,
        reason: `key ${signature.keyId} is not among the keys the run recorded at start`,
      },
    ];
  }
  const claim: ApprovalClaim = {
    workflowId: facts.workflowId,
    runId: facts.runId,
    gate: step,
    modelVersion: text(d['modelVersion']) ?? '',
    metricsDigest: text(d['metricsDigest']) ?? '',
    approver,
    decision: decision as ApprovalClaim['decision'],
    at: signature.at,
    comment: text(d['comment']) ?? null,
    keyId: key.keyId,
  };
  const ok =
    key.identity === approver && verifyWithNode(key.publicKey, approvalPayload(claim), signature.value);
  return [
    {
      ...base,
      keyId: key.keyId,
      ok,
      reason: ok
        ? `signed by ${key.identity} with key ${key.keyId} at ${signature.at}`
        : `the signature by key ${key.keyId} (${key.identity}) does not verify over this run, gate, model version ${claim.modelVersion}, metrics digest ${claim.metricsDigest}, decision and comment: the recorded decision was altered`,
    },
  ];
}
