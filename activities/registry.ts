import type { ArtifactLocation } from '../lib/artifacts/location.js';
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { z } from 'zod';
import { registerModelVersion } from '../client/registry.js';
import { DependencyUnavailableError, InvalidInputError } from '../pipelines/errors.js';
import type { JsonObject, JsonValue } from '../pipelines/json.js';
import type { ModelRef } from '../pipelines/model.js';
import type { RegisterVersionInput, RegistryApproval } from '../pipelines/registry.js';
import { registerModelParamsSchema } from '../pipelines/step-params.js';
import type { StepInput } from '../pipelines/step.js';
import { parseOrThrow } from '../pipelines/train-spec.js';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { readModelManifest } from '../lib/model/model-artifact.js';

/**
 * The `registerModel` step: a pipeline's way into the model registry. Workflows cannot send updates
 * to other workflows, so this activity does it through a Temporal client the worker injects.
 */

export { registerModelParamsSchema } from '../pipelines/step-params.js';
export type RegisterModelParams = z.output<typeof registerModelParamsSchema>;

/** What the step needs from the composition root. */
export interface RegistryStepDeps {
  home: string;
  /** `SLUICE_ARTIFACTS`: where the artifact store is; absent: `<home>/artifacts`. */
  artifacts?: ArtifactLocation | undefined;
  /** A client of the worker's namespace; without it the step fails saying so. */
  client?: Client | undefined;
  /** The task queue registry workflows run on (the orchestration queue). */
  taskQueue?: string | undefined;
}

/** What the step returns: the version the registry gave (the same one on a retry). */
export type RegisterModelOutput = {
  model: string;
  version: number;
  created: boolean;
  modelRef: ModelRef;
  dataSha256s: string[];
  approvals: number;
};

/** Lineage found in the outputs of the steps a `registerModel` step needs. */
export interface FoundLineage {
  model: ModelRef;
  metrics: JsonObject;
  approvals: RegistryApproval[];
  dataSha256s: string[];
}

/**
 * Register the model a pipeline produced, with its lineage: the run, the datasets (from the model's
 * own manifest and from any `{ dataset }` input), headline metrics, and the approval gate's decisions.
 * Idempotent: the request id is the run and step, so a retried attempt returns the same version.
 *
 * @throws DependencyUnavailableError when the worker has no Temporal client to reach the registry.
 */
export async function registerModelStep(
  deps: RegistryStepDeps,
  input: StepInput,
): Promise<RegisterModelOutput> {
  const params = parseOrThrow(registerModelParamsSchema, input.params, `step "${input.step}" params`);
  if (!deps.client || !deps.taskQueue) {
    throw new DependencyUnavailableError(
      `step "${input.step}" (registerModel) has no Temporal client to reach the registry of model "${params.model}": run it on a worker started by \`sluice worker\` or \`sluice dev\`, which provide one`,
    );
  }
  const found = lineageFromInputs(input, params);
  const manifest = await readModelManifest(createArtifactStore(deps.home, deps.artifacts), found.model);
  const dataSha256s = [...new Set([manifest.metadata.data.dataset.sha256, ...found.dataSha256s])];
  const lineage: RegisterVersionInput = {
    requestId: `${input.run.workflowId}/${input.run.runId}/${input.step}`,
    runId: input.run.runId,
    workflowId: input.run.workflowId,
    pipeline: input.run.pipeline,
    dataSha256s,
    model: {
      uri: found.model.uri,
      sha256: found.model.sha256,
      kind: found.model.kind,
      format: found.model.format,
      bytes: found.model.bytes,
    },
    metrics: found.metrics,
    approvals: found.approvals,
    registeredBy: params.by ?? `run:${input.run.workflowId}`,
  };
  const result = await registerModelVersion(
    deps.client,
    { taskQueue: deps.taskQueue },
    params.model,
    lineage,
  );
  log.info('model version registered', {
    model: params.model,
    version: result.version,
    created: result.created,
  });
  return {
    model: params.model,
    version: result.version,
    created: result.created,
    modelRef: found.model,
    dataSha256s,
    approvals: found.approvals.length,
  };
}

/**
 * Pick the model, metrics, approvals and dataset hashes out of the needed steps' outputs (pure).
 *
 * @throws InvalidInputError naming the step and which param picks between candidates.
 */
export function lineageFromInputs(input: StepInput, params: RegisterModelParams): FoundLineage {
  const where = `step "${input.step}"`;
  const outputs = Object.entries(input.inputs).filter((entry): entry is [string, JsonObject] =>
    isObject(entry[1]),
  );
  const named = (step: string, param: string): JsonObject => {
    if (!(step in input.inputs)) {
      throw new InvalidInputError(
        `${where} params.${param} names "${step}", which it does not need: add it to needs or name one of ${Object.keys(input.inputs).join(', ') || '(none)'}`,
      );
    }
    const output = input.inputs[step];
    return isObject(output) ? output : {};
  };

  const modelSources = params.modelFrom
    ? [[params.modelFrom, named(params.modelFrom, 'modelFrom')] as [string, JsonObject]]
    : outputs;
  const models = modelSources.flatMap(([step, output]) => {
    const ref = modelRef(output['model']);
    return ref ? [{ step, ref }] : [];
  });
  const distinct = [...new Set(models.map((m) => m.ref.sha256))];
  const first = models[0];
  if (!first) {
    throw new InvalidInputError(
      params.modelFrom
        ? `${where}: step "${params.modelFrom}" output has no { model } ref of kind model`
        : `${where} needs a model: depend on a step that outputs { model } (trainModel or evaluateModel)`,
    );
  }
  if (distinct.length > 1) {
    throw new InvalidInputError(
      `${where}: steps ${models.map((m) => m.step).join(', ')} carry different models; pick one with params.modelFrom`,
    );
  }

  const evaluation = outputs.find(
    ([, output]) => isObject(output['blessing']) && isObject(output['metrics']),
  );
  const metricsOutput = params.metricsFrom
    ? named(params.metricsFrom, 'metricsFrom')
    : (evaluation?.[1] ?? input.inputs[first.step]);
  const metrics =
    isObject(metricsOutput) && isObject(metricsOutput['metrics']) ? metricsOutput['metrics'] : {};

  const approvalSources = params.approvalsFrom
    ? [named(params.approvalsFrom, 'approvalsFrom')]
    : outputs.map(([, output]) => output);
  const approvals = approvalSources.flatMap((output) => {
    const list = output['decisions'] ?? output['approvals'];
    return Array.isArray(list) ? list.flatMap(approvalRecord) : [];
  });

  const dataSha256s = outputs.flatMap(([, output]) => {
    const dataset = output['dataset'];
    return isObject(dataset) && typeof dataset['sha256'] === 'string' ? [dataset['sha256']] : [];
  });
  return { model: first.ref, metrics, approvals, dataSha256s };
}

function modelRef(value: JsonValue | undefined): ModelRef | undefined {
  if (!isObject(value) || value['kind'] !== 'model') return undefined;
  const { uri, sha256, format, bytes } = value;
  const typed = typeof uri === 'string' && typeof sha256 === 'string' && typeof format === 'string';
  return typed && typeof bytes === 'number' ? (value as unknown as ModelRef) : undefined;
}

function approvalRecord(value: JsonValue): RegistryApproval[] {
  if (!isObject(value)) return [];
  const { approver, decision, at } = value;
  if (typeof approver !== 'string' || typeof at !== 'string') return [];
  if (decision !== 'approve' && decision !== 'reject') return [];
  const record: RegistryApproval = { approver, decision, at };
  if (typeof value['comment'] === 'string' || value['comment'] === null) record.comment = value['comment'];
  if (typeof value['modelVersion'] === 'string') record.modelVersion = value['modelVersion'];
  if (typeof value['metricsDigest'] === 'string') record.metricsDigest = value['metricsDigest'];
  if (typeof value['channel'] === 'string') record.channel = value['channel'];
  return [record];
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
