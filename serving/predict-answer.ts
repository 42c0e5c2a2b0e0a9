import type { FittedLabel } from '../pipelines/transform.js';
import type { LoadedModel, Prediction } from '../lib/model/loaded-model.js';
import { labelPredictions } from '../lib/model/prediction-format.js';

/**
 * What a version's answers share, escaped once when the version first answers: the head
 * (`{"model":…,"version":…,"requestId":`), each class's `"label":` fragment, and the probabilities'
 * keys in the order `JSON.stringify` of `labelPredictions`' object writes them.
 */
interface Fragments {
  modelName: string;
  head: string;
  write: (p: Prediction) => string;
}

const fragments = new WeakMap<LoadedModel, Fragments>();

/**
 * The predict answer's JSON, `{"model","version","requestId","predictions"}`, written by hand: the
 * same bytes as `JSON.stringify({ model, version, requestId, predictions: labelPredictions(…) })`
 * (test/unit/predict-answer.test.ts), without building an object per row and walking it again.
 * Under load the answer's objects and their generic serialisation were a measurable share of a
 * 1-row request; the per-version parts (model name, version, class names) are escaped once.
 */
export function predictAnswerJson(
  model: LoadedModel,
  modelName: string,
  requestId: string,
  predictions: readonly Prediction[],
): string {
  let f = fragments.get(model);
  if (f?.modelName !== modelName) {
    f = {
      modelName,
      head: `{"model":${JSON.stringify(modelName)},"version":${jsonNumber(model.version)},"requestId":`,
      write: predictionWriter(model.manifest.transform.label),
    };
    fragments.set(model, f);
  }
  let out = `${f.head}${JSON.stringify(requestId)},"predictions":[`;
  for (let i = 0; i < predictions.length; i++) {
    if (i > 0) out += ',';
    out += f.write(predictions[i] as Prediction);
  }
  return `${out}]}`;
}

/** A number as JSON.stringify writes it: NaN and ±Infinity become null. */
function jsonNumber(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

/**
 * One labelled prediction's JSON, as `JSON.stringify(labelPredictions(label, [p])[0])` writes it.
 * The probabilities object of `labelPredictions` is built by `Object.fromEntries`, so its keys come
 * in JS property order (integer-like class names first, ascending; a repeated name keeps its first
 * place and its last value); the same construction over indices gives that order and which index
 * each key shows.
 */
function predictionWriter(label: FittedLabel): (p: Prediction) => string {
  if (label.task === 'regression') {
    const unit = `,"unit":${JSON.stringify(label.unit ?? null)}}`;
    return (p) =>
      typeof p === 'number'
        ? `{"value":${jsonNumber(p)}${unit}`
        : JSON.stringify(labelPredictions(label, [p])[0]);
  }
  const names = label.task === 'binary' ? ['0', '1'] : label.classes;
  const labels = names.map((name) => `{"label":${JSON.stringify(name)},"probabilities":{`);
  const keys = Object.entries(Object.fromEntries(names.map((name, i) => [name, i]))).map(([name, i]) => ({
    key: `${JSON.stringify(name)}:`,
    i,
  }));
  const head = (best: number) => labels[best] ?? `{"label":${JSON.stringify(String(best))},"probabilities":{`;
  const classes = (p: Prediction): string => {
    const probabilities = typeof p === 'number' ? [1 - p, p] : p;
    let best = typeof p === 'number' ? (p >= 0.5 ? 1 : 0) : 0;
    if (typeof p !== 'number') {
      for (let i = 0; i < probabilities.length; i++) {
        if ((probabilities[i] as number) > (probabilities[best] ?? -Infinity)) best = i;
      }
    }
    let out = head(best);
    for (let k = 0; k < keys.length; k++) {
      const { key, i } = keys[k] as { key: string; i: number };
      if (k > 0) out += ',';
      out += key + jsonNumber(probabilities[i] ?? Number.NaN);
    }
    return `${out}}}`;
  };
  if (label.task === 'binary') {
    // Binary: the network's one output is P(1); keys "0" then "1".
    const [k0, k1] = [keys[0]?.key, keys[1]?.key];
    return (p) =>
      typeof p === 'number'
        ? `${head(p >= 0.5 ? 1 : 0)}${k0}${jsonNumber(1 - p)},${k1}${jsonNumber(p)}}}`
        : classes(p);
  }
  return classes;
}
