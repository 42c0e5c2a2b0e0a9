import { z } from 'zod';
import { jsonValueSchema } from './json-schema.js';
import { InvalidInputError } from './errors.js';
import type { JsonValue } from './json.js';
import { deriveSeed, mulberry32, SEED_PURPOSE } from './prng.js';
import { trainerKeys, trainerSchema, type TrainerConfig } from './train-spec.js';

/**
 * Hyperparameter search as pure, seeded functions (docs/architecture.md decision 4): the search workflow calls
 * {@link searchTrials} to know which trials to run (each a `trainModel` call on the `train` queue) and
 * {@link bestTrial} to pick the winner from their results, so replaying its history re-derives both.
 * Sandbox-safe: no I/O, no `Math.random`.
 */

const range = z
  .strictObject({
    min: z.number().describe('Lowest value drawn.'),
    max: z.number().describe('Highest value drawn.'),
    /** `log` draws uniformly in log space: right for learning rates and penalties. */
    scale: z
      .enum(['linear', 'log'])
      .default('linear')
      .describe('`log` draws uniformly in log space: right for learning rates and penalties.'),
    integer: z.boolean().default(false).describe('Round draws to integers (epochs, batch sizes).'),
  })
  .refine((r) => r.max > r.min, 'max must be above min')
  .refine((r) => r.scale !== 'log' || r.min > 0, 'a log range needs min > 0');

const jsonValue = jsonValueSchema;

/** Per hyperparameter: a list of values (grid or random choice) or a numeric range (random only). */
export const searchSpaceSchema = z.record(z.string(), z.union([z.array(jsonValue).min(1), range]));

export const searchSchema = z.strictObject({
  strategy: z
    .enum(['grid', 'random'])
    .describe('`grid` tries every combination of listed values; `random` draws `trials` points.'),
  space: searchSpaceSchema.describe(
    'Per hyperparameter of `train`: a list of values, or a range `{ min, max, scale?, integer? }` (random only).',
  ),
  /** Random: how many trials. Grid: the most trials allowed (a larger grid is refused). */
  trials: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(16)
    .describe('Random: how many trials. Grid: the most trials allowed (a larger grid is refused).'),
  seed: z.number().int().default(0).describe('Seed of the random draws: same seed, same trials.'),
  /** Trials running at once on the `train` queue (the workflow's bound). */
  maxParallel: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(2)
    .describe("Trials running at once on the `train` queue (the workflow's bound)."),
  /** Which trial result to compare and in which direction. */
  metric: z
    .string()
    .default('validationLoss')
    .describe('Which trial result to compare and in which direction.'),
  direction: z
    .enum(['minimize', 'maximize'])
    .default('minimize')
    .describe('Whether a lower or a higher `metric` is better.'),
});

export type SearchConfig = z.input<typeof searchSchema>;
export type SearchSpec = z.output<typeof searchSchema>;

export interface Trial {
  /** `trial-001` …: stable, so a workflow can name child runs and activities after it. */
  id: string;
  index: number;
  /** The values this trial sets. */
  values: Record<string, JsonValue>;
  /** The full trainer config: the base with `values` applied, validated. */
  trainer: TrainerConfig;
}

/**
 * The trials of a search: every combination of the listed values (grid, in a fixed order), or
 * `trials` seeded draws (random). Each trial's trainer config is validated, so an unknown
 * hyperparameter or an impossible value is refused before anything trains.
 *
 * @throws InvalidInputError naming the hyperparameter, with the zod issues.
 */
export function searchTrials(base: TrainerConfig, search: SearchSpec): Trial[] {
  const known = trainerKeys(base.model);
  const unknown = Object.keys(search.space).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `search space names unknown hyperparameter${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}: known are ${known.join(', ')}`,
    );
  }
  const names = Object.keys(search.space).sort();
  let points: Record<string, JsonValue>[];
  if (search.strategy === 'grid') {
    const ranges = names.filter((n) => !Array.isArray(search.space[n]));
    if (ranges.length > 0) {
      throw new InvalidInputError(
        `a grid search needs lists of values, but ${ranges.join(', ')} ${ranges.length > 1 ? 'are ranges' : 'is a range'}: list the values or use strategy "random"`,
      );
    }
    points = [{}];
    for (const name of names) {
      const values = search.space[name] as JsonValue[];
      points = points.flatMap((point) => values.map((value) => ({ ...point, [name]: value })));
    }
    if (points.length > search.trials) {
      throw new InvalidInputError(
        `the grid has ${points.length} combinations, more than trials = ${search.trials}: raise trials or shrink the grid`,
      );
    }
  } else {
    points = Array.from({ length: search.trials }, (_, t) => {
      const random = mulberry32(deriveSeed(search.seed, SEED_PURPOSE.search, t));
      return Object.fromEntries(
        names.map((name) => [
          name,
          draw(search.space[name] as z.output<typeof searchSpaceSchema>[string], random),
        ]),
      );
    });
  }
  return points.map((values, index) => {
    const trainer = { ...base, ...values };
    const parsed = trainerSchema.safeParse(trainer);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new InvalidInputError(
        `search trial ${index + 1} (${JSON.stringify(values)}) is not a valid trainer: ${issues.join('; ')}`,
        { details: { issues } },
      );
    }
    return { id: `trial-${String(index + 1).padStart(3, '0')}`, index, values, trainer };
  });
}

function draw(dimension: z.output<typeof searchSpaceSchema>[string], random: () => number): JsonValue {
  if (Array.isArray(dimension)) return dimension[Math.floor(random() * dimension.length)] as JsonValue;
  const u = random();
  const value =
    dimension.scale === 'log'
      ? Math.exp(Math.log(dimension.min) + u * (Math.log(dimension.max) - Math.log(dimension.min)))
      : dimension.min + u * (dimension.max - dimension.min);
  return dimension.integer ? Math.min(Math.round(value), dimension.max) : Number(value.toPrecision(6));
}

export interface TrialResult {
  trial: Trial;
  /** The trial's value of the search metric; null when the trial failed or did not report it. */
  value: number | null;
}

/**
 * The winning trial: best value in the search's direction; ties go to the earlier trial, so the pick
 * is deterministic. Failed trials are skipped. Returns null (with why) when no trial produced a value.
 */
export function bestTrial(
  results: readonly TrialResult[],
  search: Pick<SearchSpec, 'metric' | 'direction'>,
): { best: TrialResult | null; reason: string } {
  const scored = results.filter(
    (r): r is TrialResult & { value: number } => r.value !== null && Number.isFinite(r.value),
  );
  if (scored.length === 0)
    return { best: null, reason: `none of the ${results.length} trials reported ${search.metric}` };
  const better = (a: number, b: number) => (search.direction === 'minimize' ? a < b : a > b);
  let best = scored[0] as TrialResult & { value: number };
  for (const r of scored) {
    if (better(r.value, best.value) || (r.value === best.value && r.trial.index < best.trial.index)) best = r;
  }
  return {
    best,
    reason: `${best.trial.id} has the ${search.direction === 'minimize' ? 'lowest' : 'highest'} ${search.metric} (${best.value}) of ${scored.length} trials${scored.length < results.length ? ` (${results.length - scored.length} failed)` : ''}`,
  };
}
