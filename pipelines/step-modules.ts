import { importModuleFile } from './import-module.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { builtinStepNames } from './builtin-steps.js';
import { isStepDefinition, type StepDefinition } from './custom-step.js';
import { isTrainerDefinition, type TrainerDefinition } from './define-trainer.js';
import { PipelineDefinitionError } from './errors.js';

/** A user's step (or trainer, `defineTrainer`) and the module it came from (for messages). */
export interface LoadedStep {
  definition: StepDefinition | TrainerDefinition;
  /** The module as the user named it, relative to the working directory. */
  module: string;
  /** sha256 of the module file: part of the step cache key, so editing the step invalidates its cache. */
  codeSha256: string;
}

/** Every user step loaded from `--steps` / `SLUICE_STEPS`, by name. */
export type LoadedSteps = ReadonlyMap<string, LoadedStep>;

/**
 * Import step modules and collect the steps and trainers they export (values made by `defineStep` and
 * `defineTrainer`; a trainer registers under its name like a step). All or nothing: a module that fails
 * to import, exports neither, or a name used twice or by a built-in step refuses the whole set, naming
 * the module, the step and the fix.
 *
 * @param reserved further names the caller registers (a worker's own activities).
 * @throws PipelineDefinitionError.
 */
export async function loadStepModules(
  modules: readonly string[],
  cwd = process.cwd(),
  reserved: Iterable<string> = [],
): Promise<LoadedSteps> {
  const taken = new Set<string>([...builtinStepNames, ...reserved]);
  const steps = new Map<string, LoadedStep>();
  for (const given of modules) {
    const path = resolve(cwd, given);
    const shown = relative(cwd, path) || given;
    if (!existsSync(path)) {
      throw new PipelineDefinitionError(
        `step module ${shown} does not exist: pass a path to a .ts or .js file to --steps or SLUICE_STEPS`,
      );
    }
    let exported: Record<string, unknown>;
    try {
      exported = await importModuleFile(path);
    } catch (error) {
      throw new PipelineDefinitionError(
        `step module ${shown} failed to import: ${(error as Error).message.split('\n')[0]}; fix the module and start again`,
        { cause: error },
      );
    }
    const found = [
      ...new Set(
        Object.values(exported).filter(
          (value): value is StepDefinition | TrainerDefinition =>
            isStepDefinition(value) || isTrainerDefinition(value),
        ),
      ),
    ];
    if (found.length === 0) {
      throw new PipelineDefinitionError(
        `step module ${shown} exports no step: export the result of defineStep({ name, params, run }) or defineTrainer({ name, params, fit })`,
      );
    }
    const codeSha256 = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    for (const definition of found) {
      const { name } = definition;
      const what = definition.kind === 'sluice.trainer' ? 'trainer' : 'step';
      if (taken.has(name)) {
        throw new PipelineDefinitionError(
          `step module ${shown}: ${what} "${name}" has the name of a built-in Sluice step: rename it (e.g. "${name}Custom")`,
          { details: { module: shown, step: name } },
        );
      }
      const other = steps.get(name);
      if (other) {
        throw new PipelineDefinitionError(
          `step module ${shown}: ${what} "${name}" is also defined in ${other.module}: give one of them another name`,
          { details: { module: shown, step: name } },
        );
      }
      steps.set(name, { definition, module: shown, codeSha256 });
    }
  }
  return steps;
}
