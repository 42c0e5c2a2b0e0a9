import { z } from 'zod';
import { jsonValueSchema } from './json-schema.js';
import { durationPattern, parseDuration } from './duration.js';
import { approvalPolicySchema } from './approval.js';
import { conditionSchema } from './condition.js';
import { deploySchema } from './deploy.js';
import { gateKinds } from './gates.js';
import { searchSchema } from './search.js';

const jsonValue = jsonValueSchema;

/** Longest step timeout or retry interval: past it a typo (`999999d`) overflows Temporal's timers. */
const maxDurationMs = 366 * 86_400_000;
const duration = z
  .string()
  .regex(durationPattern, 'a duration such as 250ms, 30s, 15m, 72h or 7d')
  .refine((text) => !durationPattern.test(text) || parseDuration(text) <= maxDurationMs, 'at most 366d');
const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, starting with a letter');

/**
 * Which worker pool runs a step: Sluice's `orchestration` (light I/O) or `train` (CPU heavy), or any
 * other task queue, served by a worker started with `--steps` or by another team's (or language's) worker.
 */
export const stepQueues = ['orchestration', 'train'] as const;
export type StepQueue = (typeof stepQueues)[number] | (string & {});
const queueName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'a task queue name: letters, digits, ".", "_" and "-"');

export const retrySchema = z.strictObject({
  /** Attempts in total, including the first. */
  maxAttempts: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(3)
    .describe('Attempts in total, including the first.'),
  initialInterval: duration.default('1s').describe('Wait before the first retry.'),
  backoff: z.number().min(1).max(10).default(2).describe('Each wait is this many times the previous one.'),
  maxInterval: duration.default('1m').describe('Longest wait between attempts.'),
});

export const stepSchema = z
  .strictObject({
    /** Stable id: it appears in histories, caches and the status view. */
    id: identifier.describe('Stable id: it appears in histories, caches and the status view.'),
    /** Name of an activity registered on the worker (decision 1: never a function). */
    activity: z
      .string()
      .regex(/^[a-zA-Z][a-zA-Z0-9]*$/, 'an activity name such as profileDataset')
      .optional()
      .describe(
        "The activity to run: a built-in step (below) or a user's own step registered on the worker.",
      ),
    /** Instead of an activity: wait for people to sign off, under this policy (a durable gate). */
    approval: approvalPolicySchema
      .optional()
      .describe('Instead of an activity: wait for people to sign off, under this policy (a durable gate).'),
    /** Instead of an activity: deploy the registered version it needs (a child workflow, `deployWorkflow`). */
    deploy: deploySchema
      .optional()
      .describe(
        'Instead of an activity: deploy the registered version it needs (a child workflow, `deployWorkflow`).',
      ),
    /** Steps that must succeed first; their outputs arrive as `inputs`. */
    needs: z
      .array(identifier)
      .default([])
      .describe('Steps that must succeed first; their outputs arrive as `inputs`.'),
    /** Static, JSON-serialisable arguments for the activity. */
    params: z
      .record(z.string(), jsonValue)
      .default({})
      .describe('Static, JSON-serialisable arguments for the activity.'),
    queue: z
      .union([z.enum(stepQueues), queueName])
      .default('orchestration')
      .describe(
        'Which worker pool runs the step: `orchestration` (light I/O), `train` (CPU heavy), or any other task queue name (a worker serving your own steps, docs/steps.md).',
      ),
    /** Longest a single attempt may run (start-to-close). */
    timeout: duration.default('10m').describe('Longest a single attempt may run (start-to-close).'),
    /**
     * Longest silence between heartbeats before the attempt counts as lost and is retried (resuming
     * from its checkpoint, for steps that keep one, such as training). Every Sluice activity heartbeats
     * while it runs, so a crashed worker costs about this long, not the whole `timeout`.
     */
    heartbeat: duration
      .default('20s')
      .describe(
        'Longest silence between heartbeats before the attempt counts as lost and is retried (resuming from its checkpoint, for steps that keep one, such as training). Every Sluice activity heartbeats while it runs, so a crashed worker costs about this long, not the whole `timeout`.',
      ),
    retry: retrySchema
      .default({ maxAttempts: 3, initialInterval: '1s', backoff: 2, maxInterval: '1m' })
      .describe(
        'How a failed attempt is retried (errors Sluice marks non-retryable, such as bad input, are not).',
      ),
    description: z.string().optional().describe('One line for the status view and the audit report.'),
    /**
     * Reuse the output of an earlier run when the step, its resolved params and its inputs (artifact
     * hashes included) are unchanged. Only for steps whose inputs are all content-addressed.
     */
    cache: z
      .boolean()
      .default(false)
      .describe(
        'Reuse the output of an earlier run when the step, its resolved params and its inputs (artifact hashes included) are unchanged. Only for steps whose inputs are all content-addressed.',
      ),
    /**
     * Run the step as a local activity, on the worker that runs the workflow: no task round trips
     * through the server, for short steps that move no data. Left out: on for light built-in steps and
     * user steps defined with `local: true` (pipelines/local-steps.ts).
     */
    local: z
      .boolean()
      .optional()
      .describe(
        'Run the step as a local activity on the worker that runs the workflow (no task round trips through the server), for short steps that move no data: no heartbeats, so no checkpoint to resume from. Left out: on for noop, writeRunSummary, productionModel and registerModel and for user steps defined with `local: true`. Only for activity steps on the `orchestration` queue.',
      ),
    /**
     * Hyperparameter search: run the step once per trial (a child workflow fans the trials out on the
     * step's queue) and keep the best by the search metric. The step's `params.trainer` is the base.
     */
    search: searchSchema
      .optional()
      .describe(
        "Hyperparameter search: run the step once per trial (a child workflow fans the trials out on the step's queue) and keep the best by the search metric. The step's `params.trainer` is the base.",
      ),
    /** Run the step only when this condition on the run parameters holds. */
    when: conditionSchema
      .optional()
      .describe('Run the step only when this condition on the run parameters holds.'),
    /** Stop the run here unless this step's output passes the gate (decided in workflow code). */
    gate: z
      .enum(gateKinds)
      .optional()
      .describe("Stop the run here unless this step's output passes the gate (decided in workflow code)."),
  })
  .refine(
    (step) => [step.activity, step.approval, step.deploy].filter((kind) => kind !== undefined).length === 1,
    {
      message:
        'a step runs an activity, an approval gate or a deploy: give exactly one of activity, approval and deploy',
    },
  )
  .refine(
    (step) =>
      step.local !== true ||
      (step.activity !== undefined && step.search === undefined && step.queue === 'orchestration'),
    {
      message:
        'local: true runs an activity step where the workflow runs, on the orchestration queue: remove local, or the queue and search',
      path: ['local'],
    },
  );

export const paramSchema = z.strictObject({
  type: z
    .enum(['string', 'number', 'integer', 'boolean'])
    .describe('The type `--param name=value` is parsed as.'),
  default: z
    .union([z.string(), z.number(), z.boolean()])
    .optional()
    .describe('The value when a run does not set it; without one the parameter is required.'),
  description: z.string().optional().describe('What the parameter means, for the people who set it.'),
});

/** Most steps in one pipeline. */
export const maxSteps = 500;

export const pipelineSchema = z.strictObject({
  /** Stable id: it lives in workflow ids, search attributes and histories. */
  id: identifier.describe('Stable id: it lives in workflow ids, search attributes and histories.'),
  description: z.string().default('').describe('One line on what the pipeline does.'),
  /** Set by Sluice when it loads the pipeline from a file: run-time errors name that file. */
  file: z
    .string()
    .optional()
    .describe('The pipeline file (set by Sluice when it loads one); errors found at run time name it.'),
  /** Who answers for this pipeline; may never approve its own models. */
  owner: z.string().optional().describe('Who answers for this pipeline; may never approve its own models.'),
  /** Most steps running at once. */
  maxParallel: z.number().int().min(1).max(64).default(4).describe('Most steps running at once.'),
  /** Run parameters, set per run with `--param k=v`. */
  params: z
    .record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, 'a parameter name: letters, digits, _ and -'),
      paramSchema,
    )
    .default({})
    .describe(
      'Run parameters, set per run with `--param name=value` and used in step params as `{ $param: "name" }`.',
    ),
  steps: z
    .array(stepSchema)
    .min(1, 'a pipeline needs at least one step')
    // Each step adds several events to the run's history, which Temporal caps at 51 200 events.
    .max(maxSteps, `at most ${maxSteps} steps in one pipeline: split it, or fan out inside a step`),
});

/** What a data engineer writes: defaults may be left out. */
export type PipelineConfig = z.input<typeof pipelineSchema>;
/** What Sluice runs: frozen, JSON-serialisable, every default filled in. */
export type PipelineSpec = z.output<typeof pipelineSchema>;
export type StepSpec = z.output<typeof stepSchema>;
export type ParamSpec = z.output<typeof paramSchema>;
export type RetrySpec = z.output<typeof retrySchema>;
