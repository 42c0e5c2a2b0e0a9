import { z } from 'zod';
import { memorySizeSchema } from './memory-size.js';
import { schemaVariants } from './schema-variants.js';
import { InvalidInputError } from './errors.js';
import { FeatureExprError, parseFeatureExpr } from './feature-expr.js';
import { calibrationSchema } from './calibration.js';

/**
 * What a training step is told: features, label, split and trainer, as zod schemas with every default
 * written down. Strict objects, so a misspelt hyperparameter is an error listing the zod issue rather
 * than a silently ignored key. Sandbox-safe: the lead's search workflow builds trial params from these.
 */

const sqlName = z.string().min(1).max(200);

/**
 * A feature's SQL: serving computes it from the source columns (docs/serving.md), so it must parse
 * in the subset serving evaluates; refused here, at definition, naming the construct. Functions and
 * types are checked when the transform is fitted, against the source's columns.
 */
const featureSql = z
  .string()
  .min(1)
  .superRefine((sql, ctx) => {
    try {
      parseFeatureExpr(sql);
    } catch (error) {
      if (!(error instanceof FeatureExprError)) throw error;
      ctx.addIssue({
        code: 'custom',
        message: `serving cannot compute ${JSON.stringify(sql)}: ${error.message}; see docs/serving.md for the SQL a feature may use, or compute it in the source's sql`,
      });
    }
  });

/** A numeric feature: a column, or a SQL expression over the source named `name`. */
export const numericFeatureSchema = z.strictObject({
  name: sqlName.describe(
    'The feature name: a column of the source, or the name of the SQL expression in `sql`.',
  ),
  /** SQL over the source's columns, e.g. `hour(date)`; default: the column `name`. */
  sql: featureSql
    .optional()
    .describe('SQL over the source columns, e.g. `hour(date)`. Default: the column `name`.'),
  /** How a missing or NaN value is filled before standardisation. */
  impute: z
    .enum(['mean', 'median', 'zero'])
    .default('mean')
    .describe('How a missing or NaN value is filled before standardisation.'),
  /** Add a 0/1 "was missing" column; `auto` adds it when the training split had missing values. */
  indicator: z
    .union([z.boolean(), z.literal('auto')])
    .default('auto')
    .describe('Add a 0/1 "was missing" column; `auto` adds it when the training split had missing values.'),
});

/** A categorical feature: one-hot over the top-K training values plus an out-of-vocabulary bucket. */
export const categoricalFeatureSchema = z.strictObject({
  name: sqlName.describe(
    'The feature name: a column of the source, or the name of the SQL expression in `sql`.',
  ),
  sql: featureSql
    .optional()
    .describe('SQL over the source columns, e.g. `dayofweek(date)`. Default: the column `name`.'),
  /** `auto` hashes when the training split has more than `hashAbove` distinct values. */
  encoding: z
    .enum(['auto', 'one-hot', 'hash'])
    .default('auto')
    .describe(
      'One-hot over the top values, or hashing into buckets; `auto` hashes above `hashAbove` distinct values.',
    ),
  topK: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(20)
    .describe(
      'One-hot: the most frequent training values that get a column; the rest share an out-of-vocabulary column.',
    ),
  /** Values seen fewer times in training go to the out-of-vocabulary bucket. */
  minCount: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe('Values seen fewer times in training go to the out-of-vocabulary bucket.'),
  hashBuckets: z
    .number()
    .int()
    .min(2)
    .max(4096)
    .default(64)
    .describe('Hash encoding: the number of buckets.'),
  hashAbove: z
    .number()
    .int()
    .min(2)
    .default(1000)
    .describe('`auto` encoding: hash when the training split has more distinct values than this.'),
});

/** A bare name is short for `{ name }`; then one schema, so an issue names the field (`name: Too big…`). */
const byName = <T>(value: string | T) => (typeof value === 'string' ? { name: value } : value);
const numericFeature = z.preprocess(byName<z.input<typeof numericFeatureSchema>>, numericFeatureSchema);
const categoricalFeature = z.preprocess(
  byName<z.input<typeof categoricalFeatureSchema>>,
  categoricalFeatureSchema,
);

export const featuresSchema = z
  .strictObject({
    numeric: z
      .array(numericFeature)
      .default([])
      .describe(
        "Numeric features, standardised: a column name (`'distance'`) or `{ name, sql?, impute?, indicator? }`.",
      ),
    categorical: z
      .array(categoricalFeature)
      .default([])
      .describe(
        "Categorical features, one-hot or hashed: a column name (`'origin'`) or `{ name, sql?, encoding?, … }`.",
      ),
  })
  .refine((f) => f.numeric.length + f.categorical.length > 0, 'declare at least one feature');

export const taskKinds = ['binary', 'multiclass', 'regression'] as const;
export type TaskKind = (typeof taskKinds)[number];

/** The label: a column, or SQL (`delay > 15`). Binary labels must be boolean or 0/1. */
export const labelSchema = z
  .strictObject({
    column: sqlName.optional().describe('The label column. Give this or `sql`.'),
    sql: z
      .string()
      .min(1)
      .optional()
      .describe('The label as SQL over the source, e.g. `delay > 15`. Give this or `column`.'),
    task: z.enum(taskKinds).describe('binary (boolean or 0/1 label), multiclass, or regression (a number).'),
    maxMissingFraction: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'At most this share of source rows may lack a usable label (NULL, not a number, or a class the training split lacks); more fails the step. Unset: no limit, but dropped rows are always counted and reported.',
      ),
    unit: z
      .string()
      .min(1)
      .max(40)
      .optional()
      .describe(
        'Regression: the unit of the target (`minutes`, `USD`), returned with every prediction. Default: none.',
      ),
  })
  .refine((l) => (l.column === undefined) !== (l.sql === undefined), 'give exactly one of column or sql')
  .refine((l) => l.unit === undefined || l.task === 'regression', {
    message: 'unit is for regression labels: remove it, or set task to regression',
    path: ['unit'],
  });

const fraction = z.number().min(0).max(0.9);

/** Seeded, stable split by a hash of a key: a row lands in the same split on every rerun. */
export const hashSplitSchema = z.strictObject({
  kind: z.literal('hash').describe('Split by a seeded hash of `key`.'),
  /** SQL expression identifying a row (or a group that must not straddle splits). */
  key: z.string().min(1).describe('SQL identifying a row, or a group that must not straddle splits.'),
  seed: z.number().int().default(0).describe('Seed of the hash: another seed, another split.'),
  validation: fraction.default(0.1).describe('Share of rows that validate (early stopping, search).'),
  test: fraction.default(0.1).describe('Share of rows held out for evaluation.'),
});

/** Train on the past, validate and test on the future: no leakage across time. */
export const timeSplitSchema = z.strictObject({
  kind: z.literal('time').describe('Train on the past, validate and test on the future.'),
  column: sqlName.describe('The time column.'),
  /** Rows at or after this instant (and before `testFrom`) validate. */
  validationFrom: z
    .string()
    .min(1)
    .describe('Rows at or after this instant (and before `testFrom`) validate.'),
  testFrom: z.string().min(1).describe('Rows at or after this instant are held out for evaluation.'),
});

/** K-fold cross-validation: `fold` validates, the other folds train, `test` is held out first. */
export const kfoldSplitSchema = z.strictObject({
  kind: z.literal('kfold').describe('K-fold cross-validation: fold `fold` validates, the others train.'),
  key: z.string().min(1).describe('SQL identifying a row, or a group that must not straddle folds.'),
  seed: z.number().int().default(0).describe('Seed of the fold assignment.'),
  k: z.number().int().min(2).max(20).default(5).describe('Number of folds.'),
  fold: z.number().int().min(0).default(0).describe('The fold that validates (below `k`).'),
  test: fraction.default(0.1).describe('Share of rows held out for evaluation before folding.'),
});

export const splitSchema = z
  .discriminatedUnion('kind', [hashSplitSchema, timeSplitSchema, kfoldSplitSchema])
  .refine((s) => s.kind !== 'kfold' || s.fold < s.k, 'fold must be below k')
  .refine(
    (s) => s.kind !== 'hash' || s.validation + s.test < 0.9,
    'validation + test must leave at least 10% to train',
  );

export const trainerModels = ['logistic', 'softmax', 'mlp', 'linear', 'gbdt'] as const;
export type TrainerModel = (typeof trainerModels)[number];

const classWeightSchema = z
  .union([z.literal('none'), z.literal('balanced'), z.record(z.string(), z.number().positive())])
  .default('none')
  .describe('`balanced` weighs each class by n / (classes × count); or a weight per class label.');

/** Hyperparameters shared by the dense trainers; `mlp` adds layers and dropout. */
export const denseTrainerSchema = z.strictObject({
  model: z
    .enum(['logistic', 'softmax', 'mlp', 'linear'])
    .describe(
      'logistic (binary), softmax (multiclass), linear (regression) or mlp (any task); `gbdt` for trees.',
    ),
  /** `typed-array` trains in typed arrays and WebAssembly (an MLP with SIMD, sharing batches with a second thread when that is faster); `auto` picks it for linear models. */
  engine: z
    .enum(['auto', 'tfjs', 'typed-array'])
    .default('auto')
    .describe(
      '`typed-array` trains in typed arrays and WebAssembly (an MLP with SIMD, sharing batches with a second thread when that is faster); `auto` picks it for linear models.',
    ),
  seed: z
    .number()
    .int()
    .default(42)
    .describe('Seed of weight initialisation and shuffling: same seed, same model.'),
  epochs: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(20)
    .describe('Passes over the training split (fewer with early stopping).'),
  batchSize: z.number().int().min(1).max(65536).default(256).describe('Rows per gradient step.'),
  /** Over this, the training split is streamed from the snapshot in chunks (docs/training.md, "Memory"). */
  memory: memorySizeSchema.optional(),
  learningRate: z.number().positive().max(10).default(0.01).describe('Step size of the optimiser.'),
  /** L2 penalty on weights (not biases). */
  l2: z.number().min(0).max(10).default(0).describe('L2 penalty on weights (not biases).'),
  /** Hidden layer widths, MLP only. */
  layers: z
    .array(z.number().int().min(1).max(4096))
    .min(1)
    .max(8)
    .default([32, 16])
    .describe('Hidden layer widths (mlp only).'),
  dropout: z.number().min(0).max(0.9).default(0).describe('Dropout after each hidden layer (mlp only).'),
  activation: z.enum(['relu', 'tanh']).default('relu').describe('Hidden layer activation (mlp only).'),
  /** `balanced` weighs each class by n / (classes × count); or weights by class label. */
  classWeight: classWeightSchema,
  calibration: calibrationSchema,
  /** Stop when validation loss has not improved by `minDelta` for `patience` epochs; keep the best. */
  earlyStopping: z
    .strictObject({
      patience: z.number().int().min(1).default(3).describe('Epochs without improvement before stopping.'),
      minDelta: z
        .number()
        .min(0)
        .default(1e-4)
        .describe('Smallest decrease of validation loss that counts as improvement.'),
    })
    .default({ patience: 3, minDelta: 1e-4 })
    .describe('Stop when validation loss stops improving; keep the best epoch.'),
});

const fractionOfRows = z.number().gt(0).max(1);

/**
 * Gradient-boosted trees (docs/training.md, "GBDT"): histogram-based, leaf-wise, LightGBM's defaults.
 * Every field is checked here, at definition time, so a bad value names its field before data is read.
 */
export const gbdtTrainerSchema = z.strictObject({
  model: z.literal('gbdt').describe('Gradient-boosted decision trees (binary, multiclass or regression).'),
  seed: z.number().int().default(42).describe('Seed of row and feature sampling: same seed, same trees.'),
  rounds: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(100)
    .describe('Boosting rounds at most (one tree per round, one per class for multiclass).'),
  learningRate: z
    .number()
    .positive()
    .max(1)
    .default(0.1)
    .describe("Shrinkage applied to every tree's leaf values."),
  numLeaves: z.number().int().min(2).max(4096).default(31).describe('Leaves per tree at most.'),
  maxDepth: z
    .number()
    .int()
    .min(0)
    .max(64)
    .default(0)
    .describe('Deepest a leaf may be; 0: no limit beyond `numLeaves`.'),
  minDataInLeaf: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(20)
    .describe('Fewest training rows a leaf may hold.'),
  minSumHessian: z
    .number()
    .min(0)
    .max(1e6)
    .default(1e-3)
    .describe('Smallest sum of second derivatives a leaf may hold.'),
  l2: z.number().min(0).max(1e4).default(0).describe("L2 penalty on leaf values (LightGBM's lambda_l2)."),
  minSplitGain: z.number().min(0).max(1e6).default(0).describe('Smallest gain a split must bring.'),
  baggingFraction: fractionOfRows
    .default(1)
    .describe("Share of training rows each round's trees see, drawn anew every round (1: all)."),
  featureFraction: fractionOfRows.default(1).describe('Share of features each tree may split on (1: all).'),
  maxBins: z
    .number()
    .int()
    .min(2)
    .max(255)
    .default(255)
    .describe('Quantile bins per numeric feature (plus one for missing values).'),
  maxCategories: z
    .number()
    .int()
    .min(1)
    .max(254)
    .default(254)
    .describe('Categories kept apart per categorical feature; rarer ones share one bin, with a warning.'),
  minDataPerCategory: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(100)
    .describe('Rows a category needs to be split on by itself.'),
  maxCatThreshold: z
    .number()
    .int()
    .min(1)
    .max(254)
    .default(32)
    .describe('Categories at most on the left side of a categorical split.'),
  catSmooth: z
    .number()
    .min(0)
    .max(1e4)
    .default(10)
    .describe('Smoothing of category statistics when ordering categories for a split.'),
  catL2: z.number().min(0).max(1e4).default(10).describe('L2 penalty added on categorical splits.'),
  classWeight: classWeightSchema,
  calibration: calibrationSchema,
  /** Trees load their training split whole: over this, training refuses (it does not stream). */
  memory: memorySizeSchema
    .optional()
    .describe(
      "Memory the training split may take as a dense matrix (default '512MiB'); trees do not stream, so over it training refuses.",
    ),
  earlyStopping: z
    .strictObject({
      patience: z.number().int().min(1).default(20).describe('Rounds without improvement before stopping.'),
      minDelta: z
        .number()
        .min(0)
        .default(0)
        .describe('Smallest decrease of validation loss that counts as improvement.'),
    })
    .default({ patience: 20, minDelta: 0 })
    .describe('Stop when validation loss stops improving; keep the best round.'),
  checkpointEvery: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(10)
    .describe('Store the trees so far every this many rounds, so a killed worker resumes.'),
});

type AnyTrainerOutput = z.output<typeof denseTrainerSchema> | z.output<typeof gbdtTrainerSchema>;
type AnyTrainerInput = z.input<typeof denseTrainerSchema> | z.input<typeof gbdtTrainerSchema>;

/**
 * Every trainer, chosen by `model`. Not a plain discriminated union: with an unknown `model` that would
 * stop at the discriminator, and the data engineer would not hear about their other mistakes
 * (a misspelt key). So the dense schema checks everything else, and each issue keeps its path.
 */
export const trainerSchema: z.ZodType<AnyTrainerOutput, AnyTrainerInput> = z
  .custom<AnyTrainerInput>(() => true)
  .transform((value, ctx): AnyTrainerOutput => {
    const model =
      typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['model'] : undefined;
    const known = (trainerModels as readonly unknown[]).includes(model);
    const parsed = (model === 'gbdt' ? gbdtTrainerSchema : denseTrainerSchema).safeParse(value);
    if (!known) {
      ctx.addIssue({
        code: 'custom',
        path: ['model'],
        message: `Invalid option: expected one of ${trainerModels.map((m) => `"${m}"`).join('|')}`,
      });
    }
    if (parsed.success && known) return parsed.data;
    for (const issue of parsed.error?.issues ?? []) {
      if (!known && issue.path[0] === 'model') continue;
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
    return z.NEVER;
  });

schemaVariants.add(trainerSchema, { variants: [denseTrainerSchema, gbdtTrainerSchema] });

/** The hyperparameters a model accepts (what a search space may name). */
export function trainerKeys(model: unknown): string[] {
  return Object.keys(model === 'gbdt' ? gbdtTrainerSchema.shape : denseTrainerSchema.shape);
}

export type FeaturesSpec = z.output<typeof featuresSchema>;
export type NumericFeatureSpec = z.output<typeof numericFeatureSchema>;
export type CategoricalFeatureSpec = z.output<typeof categoricalFeatureSchema>;
export type LabelSpec = z.output<typeof labelSchema>;
export type SplitSpec = z.output<typeof splitSchema>;
export type TrainerSpec = AnyTrainerOutput;
export type DenseTrainerSpec = z.output<typeof denseTrainerSchema>;
export type GbdtTrainerSpec = z.output<typeof gbdtTrainerSchema>;
export type TrainerConfig = AnyTrainerInput;

/** Which trainers can learn which task; anything else is refused before data is read. */
export const modelTasks: Record<TrainerModel, readonly TaskKind[]> = {
  logistic: ['binary'],
  softmax: ['multiclass'],
  mlp: ['binary', 'multiclass', 'regression'],
  linear: ['regression'],
  gbdt: ['binary', 'multiclass', 'regression'],
};

/**
 * Parse with `schema`, or throw an InvalidInputError listing every zod issue with its path, prefixed by
 * `what` (e.g. `step "train" params`), so the data engineer sees all their mistakes at once.
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new InvalidInputError(`${what} are invalid: ${issues.join('; ')}`, { details: { issues } });
}
