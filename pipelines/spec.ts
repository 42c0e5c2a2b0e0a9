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

/** Which worker pool runs a step: light I/O and orchestration, or CPU-heavy training. */
export const stepQueues = ['orchestration', 'train'] as const;
export type StepQueue = (typeof stepQueues)[number];

export const retrySchema = z.strictObject({
  /** Attempts in total, including the first. */
  maxAttempts: z.number().int().min(1).max(100).default(3),
  initialInterval: duration.default('1s'),
  backoff: z.number().min(1).max(10).default(2),
  maxInterval: duration.default('1m'),
});

export const stepSchema = z
  .strictObject({
    /** Stable id: it appears in histories, caches and the status view. */
    id: identifier,
    /** Name of an activity registered on the worker (decision 1: never a function). */
    activity: z
      .string()
      .regex(/^[a-zA-Z][a-zA-Z0-9]*$/, 'an activity name such as profileDataset')
      .optional(),
    /** Instead of an activity: wait for people to sign off, under this policy (a durable gate). */
    approval: approvalPolicySchema.optional(),
    /** Instead of an activity: deploy the registered version it needs (a child workflow, `deployWorkflow`). */
    deploy: deploySchema.optional(),
    /** Steps that must succeed first; their outputs arrive as `inputs`. */
    needs: z.array(identifier).default([]),
    /** Static, JSON-serialisable arguments for the activity. */
    params: z.record(z.string(), jsonValue).default({}),
    queue: z.enum(stepQueues).default('orchestration'),
    /** Longest a single attempt may run (start-to-close). */
    timeout: duration.default('10m'),
    /**
     * Longest silence between heartbeats before the attempt counts as lost and is retried (resuming
     * from its checkpoint, for steps that keep one, such as training). Every Sluice activity heartbeats
     * while it runs, so a crashed worker costs about this long, not the whole `timeout`.
     */
    heartbeat: duration.default('60s'),
    retry: retrySchema.default({ maxAttempts: 3, initialInterval: '1s', backoff: 2, maxInterval: '1m' }),
    description: z.string().optional(),
    /**
     * Reuse the output of an earlier run when the step, its resolved params and its inputs (artifact
     * hashes included) are unchanged. Only for steps whose inputs are all content-addressed.
     */
    cache: z.boolean().default(false),
    /**
     * Hyperparameter search: run the step once per trial (a child workflow fans the trials out on the
     * step's queue) and keep the best by the search metric. The step's `params.trainer` is the base.
     */
    search: searchSchema.optional(),
    /** Run the step only when this condition on the run parameters holds. */
    when: conditionSchema.optional(),
    /** Stop the run here unless this step's output passes the gate (decided in workflow code). */
    gate: z.enum(gateKinds).optional(),
  })
  .refine(
    (step) => [step.activity, step.approval, step.deploy].filter((kind) => kind !== undefined).length === 1,
    {
      message:
        'a step runs an activity, an approval gate or a deploy: give exactly one of activity, approval and deploy',
    },
  );

export const paramSchema = z.strictObject({
  type: z.enum(['string', 'number', 'integer', 'boolean']),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  description: z.string().optional(),
});

/** Most steps in one pipeline. */
export const maxSteps = 500;

export const pipelineSchema = z.strictObject({
  /** Stable id: it lives in workflow ids, search attributes and histories. */
  id: identifier,
  description: z.string().default(''),
  /** Who answers for this pipeline; may never approve its own models. */
  owner: z.string().optional(),
  /** Most steps running at once. */
  maxParallel: z.number().int().min(1).max(64).default(4),
  /** Run parameters, set per run with `--param k=v`. */
  params: z
    .record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, 'a parameter name: letters, digits, _ and -'),
      paramSchema,
    )
    .default({}),
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
