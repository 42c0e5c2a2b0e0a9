import type * as tfType from '@tensorflow/tfjs';

type Tf = typeof tfType;

/** The part of a TF.js layer the direct path calls: `Dense.call` (kernel, bias, activation). */
interface CallableLayer {
  getClassName(): string;
  call(inputs: tfType.Tensor, kwargs: Record<string, unknown>): tfType.Tensor | tfType.Tensor[];
}

/**
 * A predictor for a network of Dense layers that calls each layer's own `call` in turn, skipping what
 * `LayersModel.predict` adds around it on every call (input standardisation, 32-row slicing, the
 * graph executor, name scopes): about a third of a single-row predict. Every kernel a layer runs is
 * the one `predict` runs (Dense.call itself), so the numbers are identical to batch evaluation's
 * (test/integration/serving-parity.test.ts holds serving to that). `null` for any other network,
 * which keeps `predictBatched`.
 */
export function directDensePredictor(
  tf: Tf,
  model: tfType.LayersModel,
  width: number,
): ((x: Float32Array, rows: number) => Float32Array) | null {
  const layers = model.layers as unknown as CallableLayer[];
  if (layers.length === 0 || !layers.every((l) => l.getClassName() === 'Dense')) return null;
  return (x, rows) => {
    const y = tf.tidy(() => {
      let h: tfType.Tensor = tf.tensor2d(x, [rows, width]);
      for (const layer of layers) {
        const out = layer.call(h, {});
        h = Array.isArray(out) ? (out[0] as tfType.Tensor) : out;
      }
      return h;
    });
    try {
      return y.dataSync() as Float32Array;
    } finally {
      y.dispose();
    }
  };
}
