import type { z } from 'zod';
import type { CalibrationChoice } from './calibration.js';
import type { StepLog } from './custom-step.js';
import { stepNamePattern } from './custom-step.js';
import type { JsonObject, JsonValue } from './json.js';
import type { WithParamRefs } from './refs.js';
import type { RunContext } from './step.js';
import type { TaskKind } from './train-spec.js';

/**
 * One split as a trainer sees it: the fitted transform's output (numerics standardised, categoricals
 * one-hot or hashed, missing indicators), one row after another.
 */
export interface TrainerData {
  /** Row-major `rows × width`: `x[i * width + j]` is input column `j` of row `i`. */
  x: Float32Array;
  /** Binary: 0 or 1. Multi-class: the class index (into `label.classes`). Regression: the value, in the label's units. */
  y: Float32Array;
  /** Per-row weights from `classWeight`; absent when every row weighs 1. */
  w?: Float32Array;
  rows: number;
}

/** What `fit` receives: the data Sluice prepared, the params, a seeded RNG and the step's lifelines. */
export interface TrainerContext<P> {
  /** The trainer's params, parsed by its schema (defaults filled in, `{ $param }` already resolved). */
  params: P;
  /** The training split, transformed. */
  train: TrainerData;
  /** The validation split, transformed with the statistics of the training split. */
  validation: TrainerData;
  /** Number of input columns: every row of `x` has this many. */
  width: number;
  /** What each input column is (`distance`, `origin=SEA`, `hour__missing`…), `width` names. */
  features: string[];
  label: {
    task: TaskKind;
    /** Multi-class: the class names in index order. Binary: `['0', '1']`. Regression: empty. */
    classes: string[];
    sql: string;
  };
  /** How many outputs the model must have: the class count for multi-class, else 1. */
  outputs: number;
  /** The seed (`use(params, { seed })`, default 42) and a generator seeded by it: same seed, same model. */
  seed: number;
  random: () => number;
  /** Which run and step this attempt belongs to. */
  run: RunContext & { step: string; attempt: number };
  /** Report progress (the step is heartbeat-timed-out after 5 minutes without one). */
  heartbeat: (details?: JsonValue) => void;
  log: StepLog;
  /** Aborted when the run is cancelled or the attempt times out: check it in your loops. */
  signal: AbortSignal;
}

/**
 * A model in one of the scoring contracts Sluice evaluates and serves. Outputs are raw: a logit for a
 * binary label (Sluice applies the sigmoid), one logit per class for multi-class (softmax), and the
 * value in the label's own units for regression.
 *
 * Weights are row-major `inputs × outputs`: `weights[i * outputs + k]` links input `i` to output `k`
 * (for one output, simply one weight per input column).
 */
export type TrainedModel =
  | {
      /** One affine layer: `output_k = Σ_i x_i · weights[i · outputs + k] + bias_k`. */
      kind: 'linear';
      weights: ArrayLike<number>;
      /** One number per output (a plain number when there is one output). */
      bias: number | ArrayLike<number>;
    }
  | {
      /** Dense layers, the first reading the `width` inputs and the last giving `outputs` outputs. */
      kind: 'dense';
      layers: { weights: ArrayLike<number>; bias: ArrayLike<number> }[];
      /** Activation after every layer but the last. Default `relu`. */
      activation?: 'relu' | 'tanh';
    };

/** A user's own trainer, made by {@link defineTrainer}; a worker registers it under `name`. */
export interface TrainerDefinition<S extends z.ZodType = z.ZodType> {
  readonly kind: 'sluice.trainer';
  readonly name: string;
  readonly params: S;
  /** Trainers run on Sluice's `train` pool; kept so a loaded trainer reads like a loaded step. */
  readonly queue: undefined;
  readonly description: string | undefined;
  readonly fit: (ctx: TrainerContext<z.output<S>>) => Promise<TrainedModel> | TrainedModel;
  /** This trainer with its params, for `mlLifecycle({ train: … })`. */
  use(params: WithParamRefs<z.input<S>>, settings?: TrainerSettings): TrainerUse;
}

/** What Sluice does around the fit, the same for every trainer. */
export interface TrainerSettings {
  /** Seed handed to `fit` (as `seed` and a seeded `random`). Default 42. */
  seed?: number;
  /** `balanced`, or a weight per class label: handed to `fit` as per-row weights `w`. Default `none`. */
  classWeight?: 'none' | 'balanced' | Record<string, number>;
  /** Binary models: recalibrate P(positive) on the validation split after the fit. Default `auto`. */
  calibration?: CalibrationChoice;
}

/** A trainer chosen for a lifecycle's `train`, with its params (`myTrainer.use({ … })`). */
export interface TrainerUse {
  readonly kind: 'sluice.trainer-use';
  /**
   * Never set: keeps `model` a discriminant of the `train` union, so a typo in a built-in trainer's
   * config is still reported against the built-in trainers (with "did you mean").
   */
  readonly model?: never;
  readonly trainer: TrainerDefinition;
  readonly params: JsonObject;
  readonly settings: TrainerSettings;
}

export interface TrainerConfig<S extends z.ZodType> {
  /** The name it registers under (like a step's). Must not be a built-in step's name. */
  name: string;
  /** A zod schema for the trainer's params: checked when the pipeline is defined, by `sluice run`, and by the worker. */
  params: S;
  description?: string;
  /**
   * Fit a model on `ctx.train` (early-stop on `ctx.validation` if you like) and return it. Sluice checks
   * its shapes and numbers, stores it, calibrates, evaluates and serves it like its own models.
   */
  fit: (ctx: TrainerContext<z.output<S>>) => Promise<TrainedModel> | TrainedModel;
}

/**
 * Define a trainer of your own, to stand in for Sluice's built-in `train` in `mlLifecycle`
 * (`train: myTrainer.use({ … })`). Sluice still splits the data, fits the feature transform, weighs
 * classes, counts dropped rows, and after the fit calibrates, evaluates, writes the card, registers and
 * serves: `fit` only turns matrices into weights. Export it from a module loaded with `--steps`.
 *
 * @throws TypeError naming the trainer when its name is not usable.
 */
export function defineTrainer<S extends z.ZodType>(config: TrainerConfig<S>): TrainerDefinition<S> {
  if (!stepNamePattern.test(config.name)) {
    throw new TypeError(
      `defineTrainer: name "${config.name}" must be letters and digits, starting with a letter (e.g. fitRidge)`,
    );
  }
  const definition: TrainerDefinition<S> = Object.freeze({
    kind: 'sluice.trainer' as const,
    name: config.name,
    params: config.params,
    queue: undefined,
    description: config.description,
    fit: config.fit,
    use(params: WithParamRefs<z.input<S>>, settings: TrainerSettings = {}): TrainerUse {
      return Object.freeze({
        kind: 'sluice.trainer-use' as const,
        trainer: definition,
        params: params as unknown as JsonObject,
        settings,
      });
    },
  });
  return definition;
}

/** Whether a module export is a trainer made by {@link defineTrainer}. */
export function isTrainerDefinition(value: unknown): value is TrainerDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'sluice.trainer' &&
    typeof (value as { fit?: unknown }).fit === 'function'
  );
}

/** Whether a lifecycle's `train` is a trainer of the user's own (`myTrainer.use(…)`). */
export function isTrainerUse(value: unknown): value is TrainerUse {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'sluice.trainer-use' &&
    isTrainerDefinition((value as { trainer?: unknown }).trainer)
  );
}
