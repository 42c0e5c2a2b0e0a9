import {
  isGrpcDeadlineError,
  WithStartWorkflowOperation,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, type LoadedDataConverter, type Payload } from '@temporalio/common';
import { encryptedEncoding, encryptedWithoutKeys } from './payload-crypto.js';
import { DependencyUnavailableError, InvalidInputError, SluiceError } from '../pipelines/errors.js';
import {
  modelNameProblem,
  registryMemoKey,
  registryWorkflowId,
  type PromoteInput,
  type PromoteResult,
  type RegisterVersionInput,
  type RegisterVersionResult,
  type RegistryDescription,
  type RegistryEvent,
  type RegistryInput,
  type RegistryMemo,
  type RollbackInput,
  type RollbackResult,
  type SetTrafficInput,
  type SetTrafficResult,
} from '../pipelines/registry.js';
import { SluiceModel } from '../pipelines/search-attributes.js';
import { byModelName, modelsQuery, modelSummary, type ModelSummary } from './run-views.js';
import type { SluiceConfig } from '../lib/config.js';
import {
  describeQuery,
  historyQuery,
  promoteUpdate,
  registerVersionUpdate,
  registryWorkflow,
  rollbackUpdate,
  setTrafficUpdate,
} from '../workflows/registry.js';

/**
 * Client side of the model registry (docs/architecture.md decision 6): the CLI, tests and the `registerModel`
 * step all go through these helpers, so every caller addresses the entity the same way and every
 * refusal comes back as the same one-line error.
 */

/** Where registry workflows run, and their continue-as-new bound (tests set it low). */
export interface RegistryTarget {
  taskQueue: string;
  maxHistoryEvents?: number;
}

/** The registry target for a parsed config: the orchestration task queue. */
export function registryTarget(config: Pick<SluiceConfig, 'taskQueues'>): RegistryTarget {
  return { taskQueue: config.taskQueues.orchestration };
}

/** The registry said no: promotion without approval or authority, nothing to roll back to, … */
export class RegistryRefusedError extends SluiceError {
  readonly code = 'REGISTRY_REFUSED';
  readonly retryable = false;
}

export type { ModelSummary } from './run-views.js';

type RegistryHandle = WorkflowHandle<typeof registryWorkflow>;

/**
 * Start the model's registry unless it is already running (`USE_EXISTING`), and return a handle that
 * follows it across continue-as-new.
 */
export async function ensureRegistry(
  client: Client,
  target: RegistryTarget,
  model: string,
): Promise<RegistryHandle> {
  checkName(model);
  await client.workflow.start(registryWorkflow, startOptions(target, model));
  return client.workflow.getHandle<typeof registryWorkflow>(registryWorkflowId(model));
}

/**
 * Register a version, creating the model's registry on first use (update-with-start). Idempotent by
 * `lineage.requestId`: a retried or replayed call returns the version it registered before.
 *
 * @throws InvalidInputError when the lineage is malformed or the request id was used for another model.
 */
export async function registerModelVersion(
  client: Client,
  target: RegistryTarget,
  model: string,
  lineage: RegisterVersionInput,
): Promise<RegisterVersionResult> {
  checkName(model);
  return translate(model, () =>
    client.workflow.executeUpdateWithStart(registerVersionUpdate, {
      args: [lineage],
      startWorkflowOperation: new WithStartWorkflowOperation(registryWorkflow, startOptions(target, model)),
    }),
  );
}

/**
 * Promote a version to production.
 *
 * @throws RegistryRefusedError naming the person, the version and the fix (recorded in the event log).
 */
export async function promoteModel(
  client: Client,
  model: string,
  request: PromoteInput,
): Promise<PromoteResult> {
  return translate(model, () => handle(client, model).executeUpdate(promoteUpdate, { args: [request] }));
}

/**
 * Put the previous production version back.
 *
 * @throws RegistryRefusedError when there is no previous version or the person holds no authority.
 */
export async function rollbackModel(
  client: Client,
  model: string,
  request: RollbackInput,
): Promise<RollbackResult> {
  return translate(model, () => handle(client, model).executeUpdate(rollbackUpdate, { args: [request] }));
}

/**
 * Set the candidate's canary share and shadow switch; every `sluice serve` replica applies it on its
 * next registry poll (unless started with a manual `--canary` / `--shadow`).
 *
 * @throws RegistryRefusedError when the version is not the candidate or the person holds no authority.
 */
export async function setModelTraffic(
  client: Client,
  model: string,
  request: SetTrafficInput,
): Promise<SetTrafficResult> {
  return translate(model, () => handle(client, model).executeUpdate(setTrafficUpdate, { args: [request] }));
}

/** Versions with lineage, and aliases (a query: needs a worker). */
export async function describeModel(client: Client, model: string): Promise<RegistryDescription> {
  return translate(model, () => handle(client, model).query(describeQuery));
}

/** The model's event log: registrations, promotions, rollbacks and refusals, oldest first. */
export async function modelHistory(client: Client, model: string): Promise<RegistryEvent[]> {
  return translate(model, () => handle(client, model).query(historyQuery));
}

/**
 * Every model with a running registry, from a visibility query on the workflow type; counts and
 * aliases come from the registry's memo, so no worker is needed. Visibility lags writes slightly.
 */
export async function listModels(client: Client): Promise<ModelSummary[]> {
  const models: ModelSummary[] = [];
  const converter = client.options.loadedDataConverter;
  let nextPageToken: Uint8Array | undefined;
  do {
    // The raw listing, not `client.workflow.list`: that decodes every memo and fails the whole list
    // on the first it cannot read (an encrypted registry when this process has no keys).
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      query: modelsQuery,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const execution of page.executions ?? []) {
      const memo = execution.memo?.fields?.[registryMemoKey];
      models.push(
        modelSummary(
          execution.execution?.workflowId ?? '',
          memo ? await readMemo(memo, converter) : undefined,
        ),
      );
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return byModelName(models);
}

/** A registry memo through the client's codecs and payload converter, or what stopped it. */
async function readMemo(payload: Payload, converter: LoadedDataConverter): Promise<RegistryMemo | Error> {
  try {
    let decoded = [payload];
    for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
    const [memo] = decoded as [Payload];
    const encoding = memo.metadata?.['encoding'];
    if (encoding && new TextDecoder().decode(encoding) === encryptedEncoding) {
      return new InvalidInputError(encryptedWithoutKeys);
    }
    return converter.payloadConverter.fromPayload<RegistryMemo>(memo);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function startOptions(target: RegistryTarget, model: string) {
  const input: RegistryInput = { model };
  if (target.maxHistoryEvents !== undefined) input.maxHistoryEvents = target.maxHistoryEvents;
  const memo: RegistryMemo = {
    versions: 0,
    aliases: { candidate: null, production: null, previous: null },
    updatedAt: null,
  };
  return {
    workflowId: registryWorkflowId(model),
    taskQueue: target.taskQueue,
    args: [input] as [RegistryInput],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    typedSearchAttributes: [{ key: SluiceModel, value: model }],
    memo: { [registryMemoKey]: memo },
  };
}

function handle(client: Client, model: string): RegistryHandle {
  checkName(model);
  return client.workflow.getHandle<typeof registryWorkflow>(registryWorkflowId(model));
}

function checkName(model: string): void {
  const problem = modelNameProblem(model);
  if (problem) throw new InvalidInputError(problem);
}

/** Turn the registry's failures into Sluice errors whose message is the registry's own sentence. */
async function translate<T>(model: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) {
      throw new InvalidInputError(
        `no model "${model}" in the registry: list models with \`sluice models\`, or register a version first`,
        { cause: error },
      );
    }
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
      const details = { model, ...(asRecord(error.cause.details?.[0]) ?? {}) };
      if (error.cause.type === 'RegistryRefusedError') {
        throw new RegistryRefusedError(error.cause.message, { cause: error, details });
      }
      throw new InvalidInputError(error.cause.message, { cause: error, details });
    }
    throw error;
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** How long a registry call waits for a worker to answer before saying there is none. */
const answerMs = 15_000;

/**
 * Run a registry call that needs a worker, failing with the fix after {@link answerMs} instead of
 * waiting for ever when none runs.
 */
export async function answered<T>(
  client: Client,
  config: SluiceConfig,
  model: string,
  kind: 'query' | 'update',
  call: () => Promise<T>,
) {
  try {
    return await client.connection.withDeadline(Date.now() + answerMs, call);
  } catch (error) {
    const timedOut =
      error instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
      isGrpcDeadlineError(error) ||
      (error instanceof Error && isGrpcDeadlineError(error.cause));
    if (!timedOut) throw error;
    const fix =
      kind === 'query'
        ? 'and try again'
        : `; the request stays queued and may still apply when one starts, so check \`sluice models ${model} --history\` before repeating it`;
    throw new DependencyUnavailableError(
      `no worker answered for model "${model}" within ${answerMs / 1000} s: start one with \`npx sluice worker\` (task queue ${config.taskQueues.orchestration}) ${fix}`,
      { cause: error },
    );
  }
}
