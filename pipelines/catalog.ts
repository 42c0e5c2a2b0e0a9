import { importModuleFile } from './import-module.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidInputError, PipelineDefinitionError } from './errors.js';
import { firstDag } from './first-dag.pipeline.js';
import { flightDelay } from './flight-delay.pipeline.js';
import { pipelineSchema, type PipelineSpec } from './spec.js';

/** Pipelines shipped with Sluice, by id. */
export const shippedPipelines: Readonly<Record<string, PipelineSpec>> = {
  [firstDag.id]: withFile(firstDag, 'pipelines/first-dag.pipeline.ts'),
  [flightDelay.id]: withFile(flightDelay, 'pipelines/flight-delay.pipeline.ts'),
};

/** The spec, remembering the file it came from, so errors found at run time can name it. */
function withFile(spec: PipelineSpec, file: string): PipelineSpec {
  return Object.freeze({ ...spec, file });
}

/**
 * Find a pipeline by id among the shipped ones, or load it from a `*.pipeline.ts` file: the file's
 * exported specs (values made by `definePipeline`); with several, `file.pipeline.ts#id` picks one.
 */
export async function loadPipeline(ref: string, cwd = process.cwd()): Promise<PipelineSpec> {
  const shipped = shippedPipelines[ref];
  if (shipped) return shipped;
  const [file, wanted] = ref.split('#') as [string, string | undefined];
  const path = resolve(cwd, file);
  if (!/\.pipeline\.(ts|js|mjs)$/.test(file) || !existsSync(path)) {
    throw new InvalidInputError(
      `unknown pipeline "${ref}": use one of ${Object.keys(shippedPipelines).join(', ')} or a path to a *.pipeline.ts file`,
    );
  }
  // Importing runs definePipeline, which throws PipelineDefinitionError with the lint findings.
  const module = await importPipelineFile(path);
  const specs = Object.values(module).filter(
    (value) => pipelineSchema.safeParse(value).success,
  ) as PipelineSpec[];
  const spec = wanted
    ? specs.find((candidate) => candidate.id === wanted)
    : specs.length === 1
      ? specs[0]
      : undefined;
  if (!spec) {
    throw new PipelineDefinitionError(
      specs.length === 0
        ? `${file} exports no pipeline: export the result of definePipeline({...})`
        : `${file} exports ${specs.map((s) => s.id).join(', ')}: pick one with ${file}#<id>`,
    );
  }
  return withFile(spec, file);
}

async function importPipelineFile(path: string): Promise<Record<string, unknown>> {
  return importModuleFile(path);
}
