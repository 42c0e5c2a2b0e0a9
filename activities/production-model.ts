import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { describeQuery } from '../workflows/registry.js';
import { DependencyUnavailableError } from '../pipelines/errors.js';
import type { JsonObject } from '../pipelines/json.js';
import { registryWorkflowId } from '../pipelines/registry.js';
import { productionModelParamsSchema } from '../pipelines/step-params.js';
import type { StepInput } from '../pipelines/step.js';
import { parseOrThrow } from '../pipelines/train-spec.js';

/**
 * The model in production now, from the registry (`registry/<model>`), so a candidate is evaluated
 * against it on the same rows (`evaluateModel` reads `{ production }` from its inputs). No registry or
 * no production version yet is `{ production: null }`: the first model has nothing to beat.
 */
export async function productionModelStep(
  deps: { client?: Client | undefined },
  input: StepInput,
): Promise<JsonObject> {
  const { model } = parseOrThrow(productionModelParamsSchema, input.params, `step "${input.step}" params`);
  if (!deps.client) {
    throw new DependencyUnavailableError(
      `step "${input.step}" has no Temporal client to read the registry of "${model}": run it on a worker started by \`sluice worker\` or \`sluice dev\``,
    );
  }
  try {
    const description = await deps.client.workflow.getHandle(registryWorkflowId(model)).query(describeQuery);
    const version = description.aliases.production;
    const found = description.versions.find((v) => v.version === version);
    return found
      ? { production: found.model as unknown as JsonObject, productionVersion: found.version }
      : { production: null, productionVersion: null };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { production: null, productionVersion: null };
    throw error;
  }
}
