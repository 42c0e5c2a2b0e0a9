import { deployStagesProblem } from './deploy.js';
import { PipelineDefinitionError } from './errors.js';
import { lintSteps, type LintIssue } from './lint.js';
import type { TypedPipelineConfig } from './pipeline-config.js';
import { paramRefs } from './refs.js';
import { pipelineSchema, type PipelineConfig, type PipelineSpec } from './spec.js';
import type { BuiltinActivity } from './step-params.js';

/** Largest spec, as JSON: it is a workflow argument (Temporal refuses payloads over 2 MB). */
export const maxSpecBytes = 256 * 1024;

/**
 * Define a pipeline. The result is plain data (docs/architecture.md decision 1): validated by zod, linted as a DAG,
 * every default filled in, deeply frozen, JSON-serialisable, so it can travel as a workflow argument and
 * be read back from history by an auditor.
 *
 * @throws PipelineDefinitionError naming the pipeline, the step and the fix.
 */
export function definePipeline<const A extends BuiltinActivity | (string & {}) = never>(
  config: TypedPipelineConfig<A>,
): PipelineSpec {
  // The typed config is the schema's input with narrower params (and readonly arrays): zod checks it all.
  return buildPipeline(config as unknown as PipelineConfig);
}

/**
 * {@link definePipeline} without the per-step params typing, for code that assembles or rewrites
 * steps itself (`mlLifecycle`, a changed copy of an existing spec) rather than writing them out: the
 * same validation, lint and freezing at run time.
 *
 * @throws PipelineDefinitionError naming the pipeline, the step and the fix.
 */
export function buildPipeline(config: PipelineConfig): PipelineSpec {
  const name = typeof config.id === 'string' ? config.id : '(no id)';
  const parsed = pipelineSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new PipelineDefinitionError(`pipeline "${name}" is invalid: ${issues.join('; ')}`, {
      details: { pipeline: name, issues },
    });
  }
  const lint: LintIssue[] = [...lintSteps(parsed.data.steps)];
  for (const step of parsed.data.steps) {
    if (step.when && !Object.hasOwn(parsed.data.params, step.when.param)) {
      lint.push({
        step: step.id,
        message: `step "${step.id}" has a condition on parameter "${step.when.param}", which the pipeline does not declare: add it under params`,
      });
    }
    const registers = (id: string) =>
      parsed.data.steps.some((s) => s.id === id && s.activity === 'registerModel');
    if (step.deploy && !step.needs.some(registers)) {
      lint.push({
        step: step.id,
        message: `deploy step "${step.id}" deploys the version a registerModel step registered: add that step to its needs`,
      });
    }
    const stagesProblem = step.deploy ? deployStagesProblem(step.deploy) : undefined;
    if (stagesProblem) lint.push({ step: step.id, message: `deploy step "${step.id}": ${stagesProblem}` });
    for (const ref of paramRefs(step.params)) {
      if (!Object.hasOwn(parsed.data.params, ref)) {
        lint.push({
          step: step.id,
          message: `step "${step.id}" uses parameter "${ref}", which the pipeline does not declare: add it under params`,
        });
      }
    }
  }
  if (lint.length > 0) {
    throw new PipelineDefinitionError(
      `pipeline "${name}": ${lint.map((issue) => issue.message).join('; ')}`,
      {
        details: { pipeline: name, issues: lint },
      },
    );
  }
  const bytes = JSON.stringify(parsed.data).length;
  if (bytes > maxSpecBytes) {
    throw new PipelineDefinitionError(
      `pipeline "${name}" is ${Math.ceil(bytes / 1024)} KB as JSON, more than ${maxSpecBytes / 1024} KB: the spec ` +
        "travels in every run's history; move large values (data, long SQL or text) into files",
      { details: { pipeline: name, bytes } },
    );
  }
  return deepFreeze(parsed.data);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
