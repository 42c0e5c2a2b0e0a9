import { promoterRole, type RegistryState, type SetTrafficInput, type SetTrafficResult } from './registry.js';
import {
  actorProblem,
  append,
  approvedRunRefusal,
  noTraffic,
  refuse,
  roleRefusal,
  type Refused,
} from './registry-rules.js';

/**
 * The registry's traffic rules (docs/deploy.md), pure and sandbox-safe like the rest of its rules: the
 * desired split belongs to the current candidate, and only the candidate's own approved run (its
 * deploy step) or a holder of role `promoter` may set it. Turning a split off is always allowed to
 * the same people, whatever the candidate is now.
 */

/** Why a traffic request is malformed (the validator's check); policy refusals come later, recorded. */
export function setTrafficRequestProblem(model: string, input: SetTrafficInput): string | undefined {
  if (typeof input !== 'object' || input === null) {
    return `steering traffic of model "${model}" needs { version, canaryPercent, shadow, by, reason, authorisedBy }`;
  }
  const problem = actorProblem(model, 'steer traffic of', input);
  if (problem) return problem;
  if (!Number.isInteger(input.version) || input.version < 1) {
    return `${input.by} asked to steer traffic of model "${model}" to version ${JSON.stringify(input.version) ?? 'undefined'}: a version is a whole number from 1`;
  }
  if (!Number.isInteger(input.canaryPercent) || input.canaryPercent < 0 || input.canaryPercent > 100) {
    return `${input.by} asked for a canary share of ${JSON.stringify(input.canaryPercent) ?? 'undefined'} for model "${model}" v${input.version}: give a whole percent from 0 to 100`;
  }
  if (typeof input.shadow !== 'boolean') {
    return `${input.by} must say whether model "${model}" v${input.version} runs in the shadow (true or false)`;
  }
  return undefined;
}

/** Why the registry refuses this traffic change, or `undefined` when it is allowed. */
export function setTrafficRefusal(state: RegistryState, input: SetTrafficInput): string | undefined {
  const { model } = state;
  const target = state.versions.find((v) => v.version === input.version);
  if (!target) {
    const known = state.versions.length ? `versions 1-${state.versions.length}` : 'no versions yet';
    return `${input.by} cannot steer traffic of model "${model}" to v${input.version}: there is no such version (${known})`;
  }
  const off = input.canaryPercent === 0 && !input.shadow;
  if (!off && state.aliases.candidate !== input.version) {
    const now =
      state.aliases.candidate === null
        ? 'there is no candidate'
        : `the candidate is v${state.aliases.candidate}`;
    return `${input.by} cannot steer traffic of model "${model}" to v${input.version}: only the candidate takes canary or shadow traffic and ${now}`;
  }
  if (input.authorisedBy === 'approved-run') {
    const fix = `have a holder of role ${promoterRole} do it`;
    return approvedRunRefusal(model, 'steer traffic to', target, input, fix);
  }
  return roleRefusal(model, 'steer traffic to', `v${input.version}`, input);
}

/** Set the candidate's split; the same split again is `unchanged`. A refusal is recorded. */
export function applySetTraffic(
  state: RegistryState,
  input: SetTrafficInput,
  at: string,
): SetTrafficResult | Refused {
  const refusal = setTrafficRefusal(state, input);
  if (refusal) return refuse(state, 'traffic', input.version, input, refusal, at);
  const current = state.traffic ?? noTraffic;
  const off = input.canaryPercent === 0 && !input.shadow;
  const version = off ? null : input.version;
  if (
    current.version === version &&
    current.canaryPercent === input.canaryPercent &&
    current.shadow === input.shadow
  ) {
    return { outcome: 'unchanged', traffic: { ...current } };
  }
  state.traffic = {
    version,
    canaryPercent: input.canaryPercent,
    shadow: input.shadow,
    at,
    by: input.by,
    reason: input.reason,
  };
  append(state, {
    type: 'traffic',
    at,
    by: input.by,
    version: input.version,
    canaryPercent: input.canaryPercent,
    shadow: input.shadow,
    reason: input.reason,
    authorisedBy: input.authorisedBy,
  });
  return { outcome: 'set', traffic: { ...state.traffic } };
}
