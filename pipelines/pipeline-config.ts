import type { z } from 'zod';
import type { approvalPolicySchema } from './approval.js';
import type { DeployConfig } from './deploy.js';
import type { JsonObject } from './json.js';
import type { WithParamRefs } from './refs.js';
import type { pipelineSchema, stepSchema } from './spec.js';
import type { BuiltinActivity, BuiltinStepParams } from './step-params.js';

/**
 * The types a pipeline file is checked against. `PipelineConfig` (the schema's input) types step
 * params as any JSON; these narrow them, per step, to the params schema of the built-in activity the
 * step names, so a misspelt key or a wrong literal in `params` is a compile error naming the field,
 * and editors complete the keys. A step naming any other activity (a user's own step) keeps open
 * JSON params: its schema lives in the user's step module, checked when the run starts.
 */

type StepFields = z.input<typeof stepSchema>;
/** Everything a step may set besides what it runs and its params. */
type StepCommon = Omit<StepFields, 'activity' | 'approval' | 'deploy' | 'params'>;

/** A step running activity `A`: typed params when `A` is built in, open JSON otherwise. */
export type ActivityStepConfig<A extends string> = A extends BuiltinActivity
  ? StepCommon & {
      /** The built-in step activity to run. */
      activity: A;
      /** Its params; `{ $param: 'name' }` may stand for any string, number or boolean. */
      params?: WithParamRefs<BuiltinStepParams<A>>;
      approval?: never;
      deploy?: never;
    }
  : StepCommon & {
      /** A step activity registered on the worker (a user's step: `defineStep`). */
      activity: A;
      /** Its params, checked against the step's own schema when the run starts. */
      params?: JsonObject;
      approval?: never;
      deploy?: never;
    };

/** A step that waits for sign-off under an approval policy (a durable gate). */
export type ApprovalStepConfig = StepCommon & {
  approval: z.input<typeof approvalPolicySchema>;
  activity?: never;
  deploy?: never;
  params?: JsonObject;
};

/** A step that deploys the version a `registerModel` step it needs registered. */
export type DeployStepConfig = StepCommon & {
  deploy: DeployConfig;
  activity?: never;
  approval?: never;
  params?: JsonObject;
};

/** One step of a hand-written DAG; `A` is the union of the activity names its steps use. */
export type StepConfig<A extends string = string> =
  ActivityStepConfig<A> | ApprovalStepConfig | DeployStepConfig;

/**
 * What `definePipeline` takes: the pipeline schema's input, with every step's params typed. The plain
 * `{ activity?: A }` is where TypeScript infers `A` (the activity names used) from: inferring it through
 * the conditional type alone widens it to `string` as soon as one step names a user's activity.
 */
export type TypedPipelineConfig<A extends string = string> = Omit<z.input<typeof pipelineSchema>, 'steps'> & {
  steps: readonly (StepConfig<A> & { activity?: A })[];
};
