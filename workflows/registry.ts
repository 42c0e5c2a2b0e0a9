import * as wf from '@temporalio/workflow';
import {
  defaultMaxHistoryEvents,
  modelNameProblem,
  registryMemoKey,
  registryMessages,
  type PromoteInput,
  type PromoteResult,
  type RegisterVersionInput,
  type RegisterVersionResult,
  type RegistryDescription,
  type RegistryEvent,
  type RegistryInput,
  type RollbackInput,
  type RollbackResult,
  type SetTrafficInput,
  type SetTrafficResult,
} from '../pipelines/registry.js';
import { applySetTraffic, setTrafficRequestProblem } from '../pipelines/registry-traffic.js';
import {
  applyPromote,
  applyRegister,
  applyRollback,
  describeRegistry,
  emptyRegistry,
  isRefused,
  promoteRequestProblem,
  registerProblem,
  registryMemo,
  rollbackRequestProblem,
  type Refused,
} from '../pipelines/registry-rules.js';
import { SluiceModel } from '../pipelines/search-attributes.js';

/** Register a version with its lineage; idempotent by `requestId`. Returns the version number. */
export const registerVersionUpdate = wf.defineUpdate<RegisterVersionResult, [RegisterVersionInput]>(
  registryMessages.registerVersion,
);

/** Promote a version to production, by an approved run or a role holder's authority. */
export const promoteUpdate = wf.defineUpdate<PromoteResult, [PromoteInput]>(registryMessages.promote);

/** Put the previous production version back. */
export const rollbackUpdate = wf.defineUpdate<RollbackResult, [RollbackInput]>(registryMessages.rollback);

/** Set the candidate's canary share and shadow switch, which every serving replica follows. */
export const setTrafficUpdate = wf.defineUpdate<SetTrafficResult, [SetTrafficInput]>(
  registryMessages.setTraffic,
);

/** Versions with lineage, and the aliases. */
export const describeQuery = wf.defineQuery<RegistryDescription>(registryMessages.describe);

/** The append-only event log: every registration, promotion, rollback and refusal. */
export const historyQuery = wf.defineQuery<RegistryEvent[]>(registryMessages.history);

/**
 * The model registry as an entity workflow (docs/architecture.md decision 6): one per model, id
 * `registry/<model>`, holding versions, aliases and the event log as plain JSON. It never finishes; it
 * continues as new, carrying its state, once the server suggests it or the history reaches
 * `maxHistoryEvents`, so it can serve for years.
 *
 * Validators refuse malformed requests at once (nothing to record). Policy refusals (an unknown
 * version, no approval, no authority, nothing to roll back to) are decided by the handler, recorded in
 * the event log with who and why, and then fail the update with a `RegistryRefusedError`, so an
 * auditor sees attempts as well as changes.
 */
export async function registryWorkflow(input: RegistryInput): Promise<never> {
  const nameProblem = modelNameProblem(input.model);
  if (nameProblem) throw wf.ApplicationFailure.nonRetryable(nameProblem, 'InvalidInputError');
  if (input.state && input.state.model !== input.model) {
    throw wf.ApplicationFailure.nonRetryable(
      `registry state for model "${input.state.model}" was handed to the registry of "${input.model}": start it with its own state`,
      'InvalidInputError',
    );
  }
  const bound = input.maxHistoryEvents ?? defaultMaxHistoryEvents;
  if (!Number.isInteger(bound) || bound < 1) {
    throw wf.ApplicationFailure.nonRetryable(
      `maxHistoryEvents must be a whole number from 1, got ${bound}`,
      'InvalidInputError',
    );
  }
  const state = input.state ?? emptyRegistry(input.model);
  const { model } = state;
  let changes = 0;
  const now = () => new Date().toISOString();
  const changed = () => {
    changes += 1;
    wf.upsertMemo({ [registryMemoKey]: registryMemo(state) });
  };
  const reject = (problem: string | undefined) => {
    if (problem) throw wf.ApplicationFailure.nonRetryable(problem, 'InvalidInputError');
  };
  const settle = <T extends object>(outcome: T | Refused): T => {
    if (isRefused(outcome)) {
      throw wf.ApplicationFailure.create({
        type: 'RegistryRefusedError',
        message: outcome.refused,
        nonRetryable: true,
        details: [{ model, event: state.events[state.events.length - 1] ?? null }],
      });
    }
    return outcome;
  };

  wf.setHandler(describeQuery, () => describeRegistry(state));
  wf.setHandler(historyQuery, () => state.events);
  wf.setHandler(
    registerVersionUpdate,
    (request: RegisterVersionInput) => {
      const result = applyRegister(state, request, now());
      if (result.created) {
        wf.log.info('model version registered', { model, version: result.version, run: request.workflowId });
        changed();
      }
      return result;
    },
    { validator: (request: RegisterVersionInput) => reject(registerProblem(state, request)) },
  );
  wf.setHandler(
    promoteUpdate,
    (request: PromoteInput) => {
      const outcome = applyPromote(state, request, now());
      if (isRefused(outcome) || outcome.outcome === 'promoted') changed();
      return settle(outcome);
    },
    { validator: (request: PromoteInput) => reject(promoteRequestProblem(model, request)) },
  );
  wf.setHandler(
    rollbackUpdate,
    (request: RollbackInput) => {
      const outcome = applyRollback(state, request, now());
      changed();
      return settle(outcome);
    },
    { validator: (request: RollbackInput) => reject(rollbackRequestProblem(model, request)) },
  );
  wf.setHandler(
    setTrafficUpdate,
    (request: SetTrafficInput) => {
      const outcome = applySetTraffic(state, request, now());
      if (isRefused(outcome) || outcome.outcome === 'set') changed();
      return settle(outcome);
    },
    { validator: (request: SetTrafficInput) => reject(setTrafficRequestProblem(model, request)) },
  );

  if (wf.workflowInfo().typedSearchAttributes.get(SluiceModel) !== model) {
    wf.upsertSearchAttributes([{ key: SluiceModel, value: model }]);
  }

  // Wait until the history is long enough to start afresh, and at least one change was made in this
  // run (so a bound below a fresh run's own length cannot loop).
  await wf.condition(() => {
    const info = wf.workflowInfo();
    return changes > 0 && (info.continueAsNewSuggested || info.historyLength >= bound);
  });
  await wf.condition(wf.allHandlersFinished);
  wf.log.info('registry continuing as new', {
    model,
    historyLength: wf.workflowInfo().historyLength,
    versions: state.versions.length,
    events: state.events.length,
  });
  const next: RegistryInput = { model, state };
  if (input.maxHistoryEvents !== undefined) next.maxHistoryEvents = input.maxHistoryEvents;
  return wf.makeContinueAsNewFunc<typeof registryWorkflow>({
    memo: { [registryMemoKey]: registryMemo(state) },
    typedSearchAttributes: [{ key: SluiceModel, value: model }],
  })(next);
}
