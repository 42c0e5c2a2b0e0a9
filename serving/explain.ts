import type { ArtifactStorage } from '../lib/artifacts/index.js';
import { ServingRequestError } from '../lib/http-error.js';
import { loadExplainer, NoExplainerError, type Explainer } from '../lib/model/explain.js';
import type { LoadedModel } from '../lib/model/loaded-model.js';
import type { FeatureInputs } from '../lib/model/transform-online.js';

/** A number per output: a plain number for one output, else one per class. */
export type PerOutput<T> = T | Record<string, T>;

/** The `explanations` member of a predict answer with `?explain=true` (docs/serving-explanations.md). */
export interface ExplanationsBody {
  method: Explainer['method'];
  /** What contributions and the base value add up to. */
  space: Explainer['space'];
  /** The same in words, with how to turn the margin into what `predictions` shows. */
  meaning: string;
  baseValue: PerOutput<number>;
  /** Per instance: the margin (base value plus contributions) and each feature's contribution. */
  instances: { margin: PerOutput<number>; contributions: PerOutput<Record<string, number>> }[];
}

/**
 * `?explain=true` on predict. `explain` absent or `false`: no explanation; `true` (or `1`): explain;
 * anything else is refused, naming the values it takes.
 */
export function wantsExplanation(query: unknown): boolean {
  const value =
    typeof query === 'object' && query !== null ? (query as Record<string, unknown>)['explain'] : undefined;
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1' || value === '') return true;
  throw new ServingRequestError(
    400,
    'BAD_EXPLAIN',
    `explain=${JSON.stringify(value)} is not a yes or no: use ?explain=true (or leave it out)`,
  );
}

/**
 * Explainers for the loaded versions, built on first use (the forest or the weights are read again
 * from the store, hash-verified) and kept as long as the version is. A version with no explainer is
 * remembered too, so every explain request on it is refused at once.
 */
export class ServingExplainers {
  private readonly cache = new WeakMap<LoadedModel, Promise<Explainer>>();

  constructor(private readonly store: ArtifactStorage) {}

  /** Explain rows already validated for `model` (call while the request holds it). */
  async explain(model: LoadedModel, rows: FeatureInputs[]): Promise<ExplanationsBody> {
    const explainer = await this.explainerFor(model);
    const { phi, margin } = explainer.explain(model.matrix(rows), rows.length);
    return explanationsBody(explainer, phi, margin, rows.length);
  }

  private async explainerFor(model: LoadedModel): Promise<Explainer> {
    let pending = this.cache.get(model);
    if (!pending) {
      pending = loadExplainer(this.store, model.manifest);
      this.cache.set(model, pending);
    }
    try {
      return await pending;
    } catch (error) {
      if (error instanceof NoExplainerError) {
        throw new ServingRequestError(
          400,
          'NO_EXPLAINER',
          `${model.model} v${model.version}: ${error.message}`,
          { cause: error },
        );
      }
      this.cache.delete(model); // a store hiccup: try again on the next request
      throw error;
    }
  }
}

const meanings = {
  'log-odds': (label: string) =>
    `contributions add up, with the base value, to the margin: the log-odds that “${label}” holds; the probability is 1 / (1 + e^-margin), before any calibration`,
  logit: () =>
    'per class, contributions add up, with the base value, to that class\u2019s logit; the probabilities are the softmax of the logits',
  value: () => 'contributions add up, with the base value, to the predicted value, in the label\u2019s units',
} as const;

/** The JSON answer: per-output numbers as plain numbers for one output, by class name for several. */
export function explanationsBody(
  explainer: Explainer,
  phi: Float64Array,
  margin: Float64Array,
  rows: number,
): ExplanationsBody {
  const { outputs, features } = explainer;
  const K = outputs.length;
  const P = features.length;
  const perOutput = <T>(value: (k: number) => T): PerOutput<T> =>
    K === 1 ? value(0) : Object.fromEntries(outputs.map((name, k) => [name, value(k)]));
  const instances: ExplanationsBody['instances'] = [];
  for (let i = 0; i < rows; i++) {
    instances.push({
      margin: perOutput((k) => margin[i * K + k]!),
      contributions: perOutput((k) =>
        Object.fromEntries(features.map((name, p) => [name, phi[(i * K + k) * P + p]!])),
      ),
    });
  }
  return {
    method: explainer.method,
    space: explainer.space,
    meaning: meanings[explainer.space](explainer.label),
    baseValue: perOutput((k) => explainer.base[k]!),
    instances,
  };
}
