import type * as tfType from '@tensorflow/tfjs';

/** The activations a stored Dense layer may have that the forward below computes. */
const activations = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'] as const;
type Activation = (typeof activations)[number];

interface DenseLayer {
  inputs: number;
  units: number;
  /** `inputs × units`, row-major, as TF.js stores a Dense kernel. */
  kernel: Float64Array;
  bias: Float64Array;
  activation: Activation;
}

/** The part of a TF.js layer the forward reads. */
interface ReadableLayer {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): tfType.Tensor[];
}

/**
 * A network of Dense layers scored in plain JavaScript, one row at a time: every stored model's scores
 * come from here (batch evaluation, calibration, serving, explanations), so a row's score never depends
 * on the rows scored with it or on the path that scored it (test/integration/serving-parity.test.ts).
 *
 * Each unit sums `x[i] · kernel[i][j]` in input order in float64, starting from its bias, and skips
 * inputs that are exactly 0 (one-hot columns, ReLU's zeros): adding `0 · w` changes no finite sum, so
 * the skip only saves time. Outputs are rounded to float32, as TF.js answered. Against TF.js's float32
 * kernels the numbers agree to float32 rounding (test/unit/dense-forward.test.ts); the cost is about a
 * microsecond for a small network's row instead of ~100 µs per TF.js call.
 */
export class DenseForward {
  readonly units: number;
  // Scratch for one row, reused by every call (scoring is synchronous).
  private readonly first: Float64Array;
  private readonly scratch: [Float64Array, Float64Array];
  private readonly index: Int32Array;
  private readonly value: Float64Array;

  private constructor(
    readonly width: number,
    private readonly layers: DenseLayer[],
  ) {
    this.units = (layers.at(-1) as DenseLayer).units;
    const widest = Math.max(width, ...layers.map((l) => l.units));
    this.first = new Float64Array(width);
    this.scratch = [new Float64Array(widest), new Float64Array(widest)];
    this.index = new Int32Array(widest);
    this.value = new Float64Array(widest);
  }

  /**
   * The forward of a TF.js network made only of Dense layers with one of the activations above (what
   * every built-in trainer saves), reading its weights once; `null` for any other network (a custom
   * trainer's convolution, say), which TF.js keeps scoring.
   */
  static of(network: tfType.LayersModel, width: number): DenseForward | null {
    const layers: DenseLayer[] = [];
    let inputs = width;
    for (const layer of network.layers as unknown as ReadableLayer[]) {
      if (layer.getClassName() !== 'Dense') return null;
      const config = layer.getConfig();
      const activation = config.activation;
      if (typeof activation !== 'string' || !(activations as readonly string[]).includes(activation))
        return null;
      const units = config.units;
      if (typeof units !== 'number') return null;
      const weights = layer.getWeights();
      const [kernel, bias] = weights;
      if (!kernel || kernel.dtype !== 'float32' || kernel.shape.join() !== `${inputs},${units}`) return null;
      if (bias !== undefined && (bias.dtype !== 'float32' || bias.shape.join() !== `${units}`)) return null;
      if (weights.length > 2) return null;
      layers.push({
        inputs,
        units,
        kernel: Float64Array.from(kernel.dataSync()),
        bias: bias === undefined ? new Float64Array(units) : Float64Array.from(bias.dataSync()),
        activation: activation as Activation,
      });
      inputs = units;
    }
    return layers.length === 0 ? null : new DenseForward(width, layers);
  }

  /** Scores for `rows` rows of `x` (`rows × width`): `rows × units`, row-major. */
  predict(x: Float32Array, rows: number): Float32Array {
    const { width, units, layers } = this;
    const out = new Float32Array(rows * units);
    const { first, scratch, index, value } = this;
    for (let r = 0; r < rows; r++) {
      const base = r * width;
      for (let i = 0; i < width; i++) first[i] = x[base + i] as number;
      let input = first;
      for (let l = 0; l < layers.length; l++) {
        const into = scratch[l % 2] as Float64Array;
        forwardLayer(layers[l] as DenseLayer, input, into, index, value);
        input = into;
      }
      const at = r * units;
      for (let j = 0; j < units; j++) out[at + j] = input[j] as number;
    }
    return out;
  }
}

/**
 * One layer for one row: `out[j] = activation(bias[j] + Σ_i input[i] · kernel[i][j])`, the sum over the
 * row's non-zero inputs in input order. Four inputs are added per pass over the units, still one after
 * another (`+` is left-associative), so the sums are exactly the sequential ones.
 */
function forwardLayer(
  layer: DenseLayer,
  input: Float64Array,
  out: Float64Array,
  index: Int32Array,
  value: Float64Array,
): void {
  const { inputs, units, kernel, bias } = layer;
  let n = 0;
  for (let i = 0; i < inputs; i++) {
    const v = input[i] as number;
    if (v !== 0) {
      index[n] = i * units;
      value[n++] = v;
    }
  }
  for (let j = 0; j < units; j++) out[j] = bias[j] as number;
  let t = 0;
  for (; t + 4 <= n; t += 4) {
    const v0 = value[t] as number;
    const v1 = value[t + 1] as number;
    const v2 = value[t + 2] as number;
    const v3 = value[t + 3] as number;
    const k0 = index[t] as number;
    const k1 = index[t + 1] as number;
    const k2 = index[t + 2] as number;
    const k3 = index[t + 3] as number;
    for (let j = 0; j < units; j++) {
      out[j] =
        (out[j] as number) +
        v0 * (kernel[k0 + j] as number) +
        v1 * (kernel[k1 + j] as number) +
        v2 * (kernel[k2 + j] as number) +
        v3 * (kernel[k3 + j] as number);
    }
  }
  for (; t < n; t++) {
    const v = value[t] as number;
    const k = index[t] as number;
    for (let j = 0; j < units; j++) out[j] = (out[j] as number) + v * (kernel[k + j] as number);
  }
  switch (layer.activation) {
    case 'linear':
      return;
    case 'relu':
      for (let j = 0; j < units; j++) if (!((out[j] as number) > 0) && !Number.isNaN(out[j])) out[j] = 0;
      return;
    case 'sigmoid':
      for (let j = 0; j < units; j++) out[j] = 1 / (1 + Math.exp(-(out[j] as number)));
      return;
    case 'tanh':
      for (let j = 0; j < units; j++) out[j] = Math.tanh(out[j] as number);
      return;
    case 'softmax': {
      let max = -Infinity;
      for (let j = 0; j < units; j++) max = Math.max(max, out[j] as number);
      let sum = 0;
      for (let j = 0; j < units; j++) {
        const e = Math.exp((out[j] as number) - max);
        out[j] = e;
        sum += e;
      }
      for (let j = 0; j < units; j++) out[j] = (out[j] as number) / sum;
      return;
    }
  }
}
