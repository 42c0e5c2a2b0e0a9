import { describe, expect, it } from 'vitest';
import { LoadedModel, type Prediction } from '../../lib/model/loaded-model.js';
import { labelPredictions } from '../../lib/model/prediction-format.js';
import type { ModelManifest } from '../../pipelines/model.js';
import type { FittedLabel, FittedTransform } from '../../pipelines/transform.js';
import { predictAnswerJson } from '../../serving/predict-answer.js';

/** A loaded version whose label is `label` (its network is never called here). */
function version(label: FittedLabel, name = 'flight-delay', number = 3): LoadedModel {
  const transform: FittedTransform = {
    version: 1,
    numeric: [{ name: 'x', sql: 'x', fill: 0, mean: 0, std: 1, indicator: false, missingRate: 0 }],
    categorical: [],
    label,
    fittedOnRows: 10,
  };
  const manifest = { format: 'sluice-model/1', transform } as unknown as ModelManifest;
  return new LoadedModel(name, number, 'sha', manifest, {
    predict: () => new Float32Array(),
    dispose: () => undefined,
  });
}

/** What the predict route answered before: JSON.stringify of the labelled answer object. */
function stringified(model: LoadedModel, name: string, requestId: string, predictions: Prediction[]): string {
  return JSON.stringify({
    model: name,
    version: model.version,
    requestId,
    predictions: labelPredictions(model.manifest.transform.label, predictions),
  });
}

const binary: FittedLabel = { task: 'binary', sql: 'delay > 15', classes: ['0', '1'] };
const awkward = [
  0.19502127170562744,
  1e-7,
  0.5,
  1,
  0,
  -0,
  5e-324,
  0.9999999,
  Number.NaN,
  Infinity,
  -Infinity,
];

describe('the predict answer written by hand is the JSON.stringify answer, byte for byte', () => {
  it('binary: one row, many rows, tiny and extreme probabilities, NaN and infinities', () => {
    const model = version(binary);
    for (const predictions of [[0.19502127170562744], awkward, []]) {
      const hand = predictAnswerJson(model, 'flight-delay', 'req-1', predictions);
      expect(hand).toBe(stringified(model, 'flight-delay', 'req-1', predictions));
    }
    const parsed = JSON.parse(predictAnswerJson(model, 'flight-delay', 'r', [1e-7])) as unknown;
    expect(parsed).toEqual({
      model: 'flight-delay',
      version: 3,
      requestId: 'r',
      predictions: [{ label: '0', probabilities: { '0': 1 - 1e-7, '1': 1e-7 } }],
    });
  });

  it('escapes model names, request ids and class names that need it', () => {
    const classes = [
      'a "quoted" class',
      'back\\slash',
      'line\nbreak',
      'tab\t',
      'ünïcødé ✈',
      '\u0001',
      '\u2028',
    ];
    const model = version({ task: 'multiclass', sql: 'c', classes }, 'm"odel\\');
    const predictions = [
      [0.1, 0.2, 0.3, 0.05, 0.15, 0.1, 0.1],
      [0.9, 0, 0, 0, 0, 0, 0.1],
    ];
    for (const requestId of ['plain', 'has "quotes" and \\ and \n', '\ud800 lone surrogate']) {
      const hand = predictAnswerJson(model, 'm"odel\\', requestId, predictions);
      expect(hand).toBe(stringified(model, 'm"odel\\', requestId, predictions));
      expect((JSON.parse(hand) as { predictions: { label: string }[] }).predictions[1]?.label).toBe(
        'a "quoted" class',
      );
    }
  });

  it('multi-class: the class with the highest probability, keys in the order JSON.stringify writes them', () => {
    // Integer-like names come first in a JS object, ascending; a repeated name keeps its first place.
    for (const classes of [
      ['Adelie', 'Chinstrap', 'Gentoo'],
      ['10', '9', 'b', '1', 'a'],
      ['x', 'x', 'y'],
      ['__proto__', 'constructor', 'toString'],
      ['only'],
    ]) {
      const model = version({ task: 'multiclass', sql: 'c', classes });
      const predictions: Prediction[] = [
        classes.map((_, i) => (i + 1) / 10),
        classes.map(() => 1 / classes.length),
        classes.map((_, i) => (i === 0 ? Number.NaN : 1e-7)),
        [0.2], // fewer outputs than classes: the rest are null
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], // more outputs than classes: the label is the index
        0.7, // one number on a multi-class label
      ];
      expect(predictAnswerJson(model, 'm', 'r', predictions)).toBe(stringified(model, 'm', 'r', predictions));
    }
  });

  it('regression: the value and the unit, or null without one', () => {
    for (const unit of ['minutes', 'US "dollars"', undefined]) {
      const label: FittedLabel = { task: 'regression', sql: 'y', classes: [], ...(unit ? { unit } : {}) };
      const model = version(label);
      const predictions = [12.5, -3, 1e-7, 1e21, Number.NaN, [1, 2]];
      expect(predictAnswerJson(model, 'm', 'r', predictions)).toBe(stringified(model, 'm', 'r', predictions));
    }
  });

  it('a binary model answering several outputs per row, and the same version under another name', () => {
    const model = version(binary);
    const predictions = [[0.3, 0.7], [0.6], 0.5];
    expect(predictAnswerJson(model, 'a', 'r', predictions)).toBe(stringified(model, 'a', 'r', predictions));
    expect(predictAnswerJson(model, 'b', 'r', predictions)).toBe(stringified(model, 'b', 'r', predictions));
  });
});
