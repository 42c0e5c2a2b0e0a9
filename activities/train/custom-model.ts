import { InvalidInputError } from '../../pipelines/errors.js';
import type { DenseParams } from './dense-params.js';

/** The shape a trainer's model must have: what the data and the label say. */
export interface ModelShape {
  /** Input columns (the transform's output width). */
  width: number;
  /** Outputs: classes for multi-class, else 1. */
  outputs: number;
  task: 'binary' | 'multiclass' | 'regression';
}

/** A checked model: dense weights as TF.js lays them out, and the hidden layers' activation. */
export interface CheckedModel {
  params: DenseParams;
  activation: 'relu' | 'tanh';
  kind: 'linear' | 'dense';
}

/** Most layers a returned dense model may have (the built-in MLP allows 8 hidden layers). */
const maxLayers = 10;

/**
 * Check what a user's trainer returned against the data it was fitted on, and turn it into the dense
 * weights Sluice stores: a `linear` model as one layer, a `dense` model layer by layer. Every number
 * must be finite in float32 (what the stored model holds). Nothing is stored when this throws.
 *
 * @param who `trainer "fitRidge" (from examples/steps/ridge-trainer.ts)`, for messages.
 * @throws InvalidInputError naming the trainer, the field, what was expected and the fix.
 */
export function checkTrainedModel(returned: unknown, shape: ModelShape, who: string): CheckedModel {
  const refuse = (field: string, problem: string, fix: string): never => {
    throw new InvalidInputError(
      `${who} returned a model whose ${field} ${problem}: ${fix}; nothing was stored or registered`,
      { details: { field, width: shape.width, outputs: shape.outputs } },
    );
  };
  if (typeof returned !== 'object' || returned === null || Array.isArray(returned)) {
    return refuse(
      'value',
      `is ${returned === null ? 'null' : Array.isArray(returned) ? 'an array' : typeof returned}`,
      "return { kind: 'linear', weights, bias } or { kind: 'dense', layers: [{ weights, bias }, …] } from fit",
    );
  }
  const model = returned as Record<string, unknown>;
  const outputsWord = `${shape.outputs} output${shape.outputs === 1 ? '' : 's'}${shape.task === 'multiclass' ? ' (one per class)' : ''}`;
  if (model['kind'] === 'linear') {
    const weights = numbers(model['weights'], 'weights', refuse);
    const expected = shape.width * shape.outputs;
    if (weights.length !== expected) {
      refuse(
        'weights',
        `has ${weights.length} numbers, but the data has ${shape.width} input columns and the label ${outputsWord}, so it needs ${expected}`,
        shape.outputs === 1
          ? `return one weight per input column (ctx.width = ${shape.width})`
          : `return ctx.width × ctx.outputs weights, row-major: weights[i * ${shape.outputs} + k] for input i and output k`,
      );
    }
    const rawBias = typeof model['bias'] === 'number' ? [model['bias']] : model['bias'];
    const bias = numbers(rawBias, 'bias', refuse);
    if (bias.length !== shape.outputs) {
      refuse(
        'bias',
        `has ${bias.length} numbers, but the label has ${outputsWord}`,
        shape.outputs === 1 ? 'return one number as bias' : `return ${shape.outputs} biases, one per class`,
      );
    }
    return {
      kind: 'linear',
      activation: 'relu',
      params: { sizes: [shape.width, shape.outputs], kernels: [weights], biases: [bias] },
    };
  }
  if (model['kind'] === 'dense') {
    const layers = model['layers'];
    if (!Array.isArray(layers) || layers.length === 0 || layers.length > maxLayers) {
      refuse(
        'layers',
        Array.isArray(layers) ? `has ${layers.length} layers` : 'is not an array',
        `return 1 to ${maxLayers} layers, each { weights, bias }`,
      );
    }
    const activation = model['activation'] ?? 'relu';
    if (activation !== 'relu' && activation !== 'tanh') {
      refuse('activation', `is ${JSON.stringify(activation)}`, 'use "relu" or "tanh" (or leave it out)');
    }
    const sizes = [shape.width];
    const kernels: Float32Array[] = [];
    const biases: Float32Array[] = [];
    (layers as unknown[]).forEach((layer, l) => {
      const at = `layers[${l}]`;
      if (typeof layer !== 'object' || layer === null) {
        refuse(at, 'is not an object', 'give each layer { weights, bias }');
      }
      const { weights: w, bias: b } = layer as Record<string, unknown>;
      const bias = numbers(b, `${at}.bias`, refuse);
      const weights = numbers(w, `${at}.weights`, refuse);
      const last = l === (layers as unknown[]).length - 1;
      const inputs = sizes[l] as number;
      if (last && bias.length !== shape.outputs) {
        refuse(
          `${at}.bias`,
          `has ${bias.length} numbers, but the last layer must give ${outputsWord}`,
          `make the last layer ${shape.outputs} wide`,
        );
      }
      if (bias.length === 0) refuse(`${at}.bias`, 'is empty', 'give one bias per unit of the layer');
      if (weights.length !== inputs * bias.length) {
        refuse(
          `${at}.weights`,
          `has ${weights.length} numbers, but the layer reads ${inputs} ${l === 0 ? 'input columns' : `units of layers[${l - 1}]`} and has ${bias.length} units (its bias), so it needs ${inputs * bias.length}`,
          `lay weights out row-major, ${inputs} × ${bias.length}: weights[i * ${bias.length} + u]`,
        );
      }
      sizes.push(bias.length);
      kernels.push(weights);
      biases.push(bias);
    });
    return { kind: 'dense', activation: activation as 'relu' | 'tanh', params: { sizes, kernels, biases } };
  }
  return refuse(
    'kind',
    `is ${JSON.stringify(model['kind'])}`,
    "use kind 'linear' ({ weights, bias }) or 'dense' ({ layers: [{ weights, bias }, …] })",
  );
}

/** Numbers as float32, refused when not an array of finite numbers (NaN, ±Infinity, past float32's range). */
function numbers(
  value: unknown,
  field: string,
  refuse: (field: string, problem: string, fix: string) => never,
): Float32Array {
  const isArrayLike =
    Array.isArray(value) ||
    ArrayBuffer.isView(value) ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { length?: unknown }).length === 'number');
  if (!isArrayLike) {
    return refuse(
      field,
      `is ${value === undefined ? 'missing' : typeof value}`,
      'return an array (or a Float32Array) of numbers',
    );
  }
  const source = value as ArrayLike<unknown>;
  const out = new Float32Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const v = source[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isFinite(Math.fround(v))) {
      refuse(
        `${field}[${i}]`,
        `is ${typeof v === 'number' ? String(v) : typeof v}`,
        'every weight and bias must be a finite number within float32 range (check for a diverging fit or a division by zero)',
      );
    }
    out[i] = v;
  }
  return out;
}

/**
 * Raw outputs of a checked model on `rows` rows (`rows × outputs`): the logits (or values) the stored
 * TF.js network will compute, in double precision. Used to measure the fit's losses for the card.
 */
export function forwardDense(model: CheckedModel, x: Float32Array, rows: number): Float32Array {
  const { sizes, kernels, biases } = model.params;
  const out = new Float32Array(rows * (sizes.at(-1) as number));
  const input = new Float64Array(sizes[0] as number);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < input.length; j++) input[j] = x[r * input.length + j] as number;
    let current: Float64Array = input;
    for (let l = 0; l < kernels.length; l++) {
      const n = sizes[l] as number;
      const m = sizes[l + 1] as number;
      const kernel = kernels[l] as Float32Array;
      const bias = biases[l] as Float32Array;
      const next = new Float64Array(m);
      for (let u = 0; u < m; u++) {
        let sum = bias[u] as number;
        for (let i = 0; i < n; i++) sum += (current[i] as number) * (kernel[i * m + u] as number);
        const hidden = l < kernels.length - 1;
        next[u] = !hidden ? sum : model.activation === 'tanh' ? Math.tanh(sum) : Math.max(0, sum);
      }
      current = next;
    }
    out.set(current, r * current.length);
  }
  return out;
}
