import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { openSigningKey, signApproval, type SigningKey } from '../../lib/keys.js';
import { InvalidInputError, PermissionDeniedError } from '../../pipelines/errors.js';
import type { SluiceConfig } from '../../lib/config.js';
import { connectClient } from '../../client/connect.js';
import { context } from '../commands/shared.js';
import { signedRequest, submitDecision } from '../../client/approvals.js';

export interface DecisionOptions {
  as: string;
  comment?: string;
  reason?: string;
  modelVersion?: string;
  /** Send as the durable `approval` signal (works with no worker running) instead of the update. */
  signal?: boolean;
  /** The private key; default `<keys dir>/<as>.pem`. */
  key?: string;
  gate?: string;
  metricsDigest?: string;
}

export interface SignOptions extends Omit<DecisionOptions, 'signal' | 'reason'> {
  decision: string;
}

/**
 * `sluice approve` / `sluice reject`: one decision, signed with the local key when there is one,
 * answered at once (update) or queued (signal).
 */
export async function decisionAction(
  runId: string,
  decision: 'approve' | 'reject',
  options: DecisionOptions,
  command: Command,
): Promise<void> {
  const { config, out } = context(command);
  const key = await localKey(config, options);
  const client = await connectClient(config);
  try {
    const comment = options.comment ?? options.reason;
    const outcome = await submitDecision(client, config.temporal.namespace, runId, {
      approver: options.as,
      decision,
      ...(options.modelVersion ? { modelVersion: options.modelVersion } : {}),
      ...(comment ? { comment } : {}),
      ...(options.signal ? { signal: true } : {}),
      ...(key ? { sign: (claim) => signApproval(key, claim) } : {}),
      ...(options.gate ? { gate: options.gate } : {}),
      ...(options.metricsDigest ? { metricsDigest: options.metricsDigest } : {}),
    }).catch((error: unknown) => {
      if (!key && error instanceof PermissionDeniedError && / is not signed/.test(error.message)) {
        throw new PermissionDeniedError(
          `${error.message} (no key at ${join(config.keys.dir, `${options.as}.pem`)}: create one with \`sluice keys create --identity ${options.as}\`; it counts for runs started after that)`,
          { cause: error },
        );
      }
      throw error;
    });
    if (outcome.sent !== 'update') {
      out.result(
        { sent: 'signal', request: outcome.request },
        () =>
          `sent ${decision} by ${options.as} for model version ${outcome.request.modelVersion} as a signal` +
          `${key ? `, signed with key ${key.keyId}` : ''}; ` +
          'it is checked against the policy when the run reads it (see `sluice status`)',
      );
      return;
    }
    const { recorded, gate } = outcome;
    const approvals = gate?.decisions.filter((d) => d.decision === 'approve').length ?? 0;
    out.result(
      { recorded, gate },
      () =>
        `recorded: ${recorded.approver} ${decision === 'approve' ? 'approved' : 'rejected'} model version ${recorded.modelVersion}` +
        `${recorded.signature ? ` (signed with key ${recorded.signature.keyId})` : ''}` +
        ` (${approvals} of ${gate?.policy.quorum ?? '?'} approvals; gate ${gate?.state ?? 'unknown'})`,
    );
  } finally {
    await client.connection.close();
  }
}

/**
 * `sluice sign`: the signed `approval` signal argument, as JSON on stdout, for
 * `temporal workflow signal --workflow-id <run> --name approval --input '<json>'`.
 */
export async function signAction(runId: string, options: SignOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  if (options.decision !== 'approve' && options.decision !== 'reject') {
    throw new InvalidInputError(`--decision must be approve or reject, got "${options.decision}"`);
  }
  const key = await localKey(config, options, true);
  if (!key) throw new InvalidInputError('no key to sign with');
  const client = await connectClient(config);
  try {
    const request = await signedRequest(client, config.temporal.namespace, runId, {
      approver: options.as,
      decision: options.decision,
      ...(options.modelVersion ? { modelVersion: options.modelVersion } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
      ...(options.gate ? { gate: options.gate } : {}),
      ...(options.metricsDigest ? { metricsDigest: options.metricsDigest } : {}),
      sign: (claim) => signApproval(key, claim),
    });
    const json = JSON.stringify(request);
    process.stderr.write(
      `signed with key ${key.keyId}; send it with:\n  temporal workflow signal --workflow-id ${runId} --name approval --input '${json.replace(/'/g, "'\\''")}'\n`,
    );
    out.result(request, () => json);
  } finally {
    await client.connection.close();
  }
}

/**
 * The approver's private key: `--key`, else `<keys dir>/<id>.pem` when it exists. Without one a
 * decision goes unsigned (a gate with `approval.signed` then refuses and records it).
 */
async function localKey(
  config: SluiceConfig,
  options: Pick<DecisionOptions, 'as' | 'key'>,
  required = false,
): Promise<SigningKey | undefined> {
  const file = options.key ?? join(config.keys.dir, `${options.as}.pem`);
  if (options.key === undefined && !existsSync(file) && !required) return undefined;
  return openSigningKey(file);
}
