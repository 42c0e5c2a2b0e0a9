import { z } from 'zod';
import { blessSchema } from './evaluation.js';

/**
 * The params of an `evaluateModel` step. Pure and sandbox-safe, so pipeline files are typed by it and
 * `docs/pipelines.md` is generated from it; the activity parses with the same schema.
 */

/** An artifact ref as it arrives in params or a dependency's output. */
export const artifactRefSchema = z
  .object({
    uri: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    kind: z.string(),
    format: z.string(),
    bytes: z.number(),
  })
  .meta({ title: 'ArtifactRef' });

/** A slice or fairness group: a column (or derived feature) name, or a name with SQL. */
export const sliceSchema = z.union([
  z
    .string()
    .min(1)
    .transform((name): { name: string } => ({ name })),
  z.strictObject({
    name: z.string().min(1).describe('The group column, or a name for `sql` / `where`.'),
    sql: z.string().min(1).optional().describe('SQL over the data whose value names the group.'),
    where: z.string().min(1).optional().describe('A SQL condition: its rows form one group.'),
  }),
]);

export const evaluateStepSchema = z.strictObject({
  model: artifactRefSchema
    .optional()
    .describe('The model to evaluate. Default: the `model` output of a step this one needs.'),
  production: artifactRefSchema
    .nullable()
    .optional()
    .describe(
      "The production model to compare with on the same rows. Default: a needed step's `production` output.",
    ),
  source: z
    .string()
    .min(1)
    .optional()
    .describe("Evaluate every labelled row of this file instead of the model's own held-out split."),
  split: z
    .enum(['test', 'validation', 'train'])
    .default('test')
    .describe("Which split of the model's own data to evaluate on."),
  threshold: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe('Binary models: the score at or above which a row is predicted positive.'),
  slices: z
    .array(sliceSchema)
    .default([])
    .describe(
      'Metrics per group: a column or derived feature name (`origin`), or `{ name, sql }` / `{ name, where }`.',
    ),
  fairness: z
    .array(sliceSchema)
    .default([])
    .describe('Binary models: groups whose selection and error rates are compared (as `slices`).'),
  maxGroups: z
    .number()
    .int()
    .min(1)
    .max(200)
    .default(20)
    .describe('Most values per sliced or grouped column (the most frequent ones).'),
  bootstrap: z
    .strictObject({
      replicates: z
        .number()
        .int()
        .min(10)
        .max(10_000)
        .default(200)
        .describe('Bootstrap resamples per interval.'),
      seed: z.number().int().default(0).describe('Seed of the resampling.'),
    })
    .default({ replicates: 200, seed: 0 })
    .describe('95% intervals of every metric by bootstrap.'),
  bless: blessSchema
    .default(blessSchema.parse({}))
    .describe(
      'Thresholds that decide `blessed`: `{ auc: { min: 0.62 }, vsProduction: { auc: { minDelta: 0 } } }`. Not blessed stops the run.',
    ),
});
