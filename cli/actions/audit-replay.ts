import type { Command } from 'commander';
import {
  ReplayDivergedError,
  currentWorkflowCode,
  readAuditInputs,
  replayHistories,
  requireKeys,
  workflowTypes,
  type ReplayOutcome,
} from '../../audit/index.js';
import { createLogger, installRuntime } from '../../worker/logging.js';
import { payloadConverter } from '../../client/codec.js';
import { context } from '../commands/shared.js';

/**
 * `sluice audit replay <dir|file…>`: replay every history against today's workflow code. Per history,
 * OK or the first diverging event and Temporal's reason; any divergence is a non-zero exit.
 */
export async function replayAction(paths: string[], command: Command): Promise<void> {
  const { config, out } = context(command);
  // The replay worker's own lifecycle lines are noise here; keep errors only unless asked for more.
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  installRuntime(createLogger({ logLevel: verbose ? config.logLevel : 'error' }));
  const code = currentWorkflowCode();
  const inputs = await readAuditInputs(paths);
  const { bundle, sha256 } = await code;
  requireKeys(inputs.histories, config.payloadKeys);
  const outcomes = await replayHistories(
    inputs.histories.map(({ source, loaded, workflowId }) => ({ source, loaded, workflowId })),
    bundle,
    await workflowTypes(),
    payloadConverter(config.payloadKeys),
  );
  const diverged = outcomes.filter((o) => !o.ok);
  const exportedWith = inputs.exports
    .filter((e) => e.manifest.workflowBundleSha256 !== sha256)
    .map((e) => `${e.dir} was exported with workflow bundle ${e.manifest.workflowBundleSha256.slice(0, 12)}`);
  out.result(
    {
      ok: diverged.length === 0,
      workflowBundleSha256: sha256,
      histories: outcomes,
      skipped: inputs.skipped,
      exports: inputs.exports.map((e) => ({
        dir: e.dir,
        workflowBundleSha256: e.manifest.workflowBundleSha256,
      })),
    },
    () =>
      [
        ...outcomes.map(line),
        ...inputs.skipped.map((s) => `SKIPPED   ${s.source}: ${s.reason}`),
        '',
        `${outcomes.length - diverged.length} of ${outcomes.length} histories replay against the current workflow code (bundle ${sha256.slice(0, 12)})`,
        ...exportedWith.map(
          (note) => `note: ${note}; today's code still decides the same way where it replays OK`,
        ),
      ].join('\n'),
  );
  if (diverged.length > 0) {
    const [first] = diverged;
    const where = first?.divergence
      ? `${first.source} at event ${first.divergence.eventId} ${first.divergence.eventType}: ${first.divergence.why}`
      : (first?.source ?? '');
    throw new ReplayDivergedError(
      `${diverged.length} of ${outcomes.length} histories do not replay against the current workflow code; first: ${where}`,
    );
  }
}

function line(outcome: ReplayOutcome): string {
  if (outcome.ok) {
    const detail = outcome.note ?? `${outcome.events} events, ${outcome.ms} ms`;
    return `OK        ${outcome.source}  ${outcome.workflowType}  ${detail}`;
  }
  const d = outcome.divergence;
  return `DIVERGED  ${outcome.source}  ${outcome.workflowType}  at event ${d?.eventId ?? '?'} ${d?.eventType ?? ''}: ${d?.why ?? 'unknown'}`;
}
