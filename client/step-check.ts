import { builtinStepNames } from '../pipelines/builtin-steps.js';
import { InvalidInputError } from '../pipelines/errors.js';
import type { ParamValue } from '../pipelines/params.js';
import { resolveParamRefs } from '../pipelines/refs.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import type { LoadedSteps } from '../pipelines/step-modules.js';

/**
 * Check every activity step of `spec` before a run starts, and return the code hash of each user step
 * it runs (for the step cache key):
 * - a built-in step is accepted;
 * - a user step loaded here (`--steps`, `SLUICE_STEPS`) has its params, `{ $param }`s resolved, checked
 *   by its zod schema, and must run on Sluice's pools or the queue it declares;
 * - a step not loaded here is accepted only on a queue of its own (another worker pool, maybe another
 *   language, serves it); on Sluice's pools it would wait for a worker that never registers it.
 *
 * @throws InvalidInputError naming the step, the field and the fix.
 */
export function checkStepActivities(
  spec: PipelineSpec,
  steps: LoadedSteps,
  runParams: Record<string, ParamValue>,
): Record<string, string> {
  const builtin = new Set<string>(builtinStepNames);
  const codes: Record<string, string> = {};
  const where = spec.file ? ` (${spec.file})` : '';
  const of = spec.file ? ` of ${spec.file}` : '';
  for (const step of spec.steps) {
    const name = step.activity;
    if (name === undefined || builtin.has(name)) continue;
    const loaded = steps.get(name);
    if (!loaded) {
      if (step.queue !== 'orchestration' && step.queue !== 'train') continue;
      throw new InvalidInputError(
        `step "${step.id}" of pipeline "${spec.id}"${where} names activity "${name}", which Sluice does not register and no step module loaded here defines: ` +
          `use one of ${[...builtin].join(', ')}; for your own step, load its module with --steps <module> (or SLUICE_STEPS), or set the step's queue to the one its worker serves`,
      );
    }
    const { definition, module } = loaded;
    const builtinPool = step.queue === 'orchestration' || step.queue === 'train';
    if (!builtinPool && step.queue !== definition.queue) {
      throw new InvalidInputError(
        `step "${step.id}"${of} runs "${name}" on queue "${step.queue}", but ${module} serves it on ${definition.queue ? `"${definition.queue}"` : "Sluice's pools only"}: ` +
          `set the step's queue to ${definition.queue ? `"${definition.queue}" or ` : ''}"orchestration"`,
      );
    }
    // A trainer's own params travel under `params` of the train step, beside Sluice's part.
    const resolved = resolveParamRefs(step.params, runParams);
    const trainer = definition.kind === 'sluice.trainer';
    const parsed = definition.params.safeParse(trainer ? (resolved['params'] ?? {}) : resolved);
    if (!parsed.success) {
      const [issue] = parsed.error.issues;
      const at = issue?.path.length ? `params.${issue.path.join('.')}` : 'params';
      throw new InvalidInputError(
        `step "${step.id}"${of} (${trainer ? 'trainer ' : ''}${name} from ${module}): ${at}: ${issue?.message ?? 'invalid'}`,
        { details: { step: step.id, activity: name, issues: parsed.error.issues } },
      );
    }
    codes[name] = loaded.codeSha256;
  }
  return codes;
}

/**
 * The user's steps this spec uses that were defined with `local: true`: recorded in the run's input,
 * so the workflow runs them as local activities (pipelines/local-steps.ts) and a replay knows it did.
 * A trainer (`defineTrainer`) never is: training is not light.
 */
export function localStepNames(spec: PipelineSpec, steps: LoadedSteps): string[] {
  const names = spec.steps.flatMap((step) => {
    const definition = step.activity === undefined ? undefined : steps.get(step.activity)?.definition;
    return definition?.kind === 'sluice.step' && definition.local && step.activity ? [step.activity] : [];
  });
  return [...new Set(names)].sort();
}
