import type { OutputKind } from './trainer.js';
import type { MlpLayout } from './typed-mlp-layout.js';

/** A split's non-zero inputs, row by row, in ascending column order (CSR). */
export interface CsrRows {
  offsets: Uint32Array | Int32Array;
  index: Int32Array;
  value: Float32Array;
}

/** The rows of one batch: batch position `i` is row `rows[start + i]` of `csr`, `y`, `w`. */
export interface BatchRows {
  csr: CsrRows;
  y: Float32Array;
  w: Float32Array | undefined;
  rows: Uint32Array | Int32Array;
  start: number;
  /** Rows in the whole batch (the dropout draws of each layer are laid out per batch, as in TF.js). */
  size: number;
  dropoutSeed: number;
}

export interface MlpKernelOptions {
  output: OutputKind;
  activation: 'relu' | 'tanh';
  dropout: number;
}

/**
 * Forward and backward passes of a dense network over plain typed arrays, one row at a time: what the
 * typed-array MLP trainer runs on each thread. Per row, the first layer reads only the row's non-zero
 * inputs (one-hot features leave a few of dozens), and every later layer skips the units that are 0
 * after ReLU or dropout, forward and backward alike (their products add exactly 0); activations and
 * gradient sums are doubles, weights float32. Nothing is allocated per row or per batch.
 *
 * Dropout is TF.js's path's, draw for draw: inverted dropout after each hidden activation, the mask
 * of hidden layer `h`, batch position `i`, unit `u` being draw number `size·(units before h) + i·width
 * + u` of mulberry32 seeded with the batch's dropout seed. mulberry32's state is a counter, so any
 * draw is computed directly: a thread working on part of a batch draws exactly its rows' masks.
 */
export interface MlpKernel {
  /**
   * The summed (row-weighted) gradient of batch positions `from … to)` written into `grad` (the
   * parameter layout; overwritten), and their summed weighted loss returned.
   */
  gradient(params: Float32Array, grad: Float64Array, batch: BatchRows, from: number, to: number): number;
  /** Raw outputs for `rows` dense rows of `x` (no dropout), `rows × units`. */
  logits(params: Float32Array, x: Float32Array, rows: number): Float32Array;
}

const MULBERRY = 0x6d2b79f5;

export function createMlpKernel(layout: MlpLayout, options: MlpKernelOptions): MlpKernel {
  const { sizes } = layout;
  const layers = sizes.length - 1;
  const width = sizes[0] as number;
  const units = sizes[layers] as number;
  const relu = options.activation === 'relu';
  const rate = options.dropout;
  const keep = Math.fround(1 / (1 - rate));
  // acts[l]: layer l's output after activation and dropout (l = 1 … layers-1); acts[layers]: the logits.
  const acts = sizes.map((n) => new Float64Array(n));
  // factor[l]: d act / d pre-activation × mask, per hidden unit (0 where nothing flows back).
  const factor = sizes.map((n) => new Float64Array(n));
  const back = sizes.map((n) => new Float64Array(n));
  const widest = Math.max(...sizes);
  const activeIndex = new Int32Array(widest);
  const activeValue = new Float64Array(widest);
  const rowIndex = new Int32Array(width);
  const rowValue = new Float32Array(width);
  /**
   * `z = b + Σ value[p] · W[index[p], ·]` for kernel `l` over the `count` non-zero inputs listed in
   * `activeIndex/activeValue`: four outputs at a time, each summed in a register, inputs in ascending
   * order (the sums one output at a time would make).
   */
  const affine = (P: Float32Array, l: number, count: number, z: Float64Array) => {
    const nOut = sizes[l + 1] as number;
    const kl = layout.kernel[l] as number;
    const bl = layout.bias[l] as number;
    let k = 0;
    for (; k + 4 <= nOut; k += 4) {
      let s0 = P[bl + k] as number;
      let s1 = P[bl + k + 1] as number;
      let s2 = P[bl + k + 2] as number;
      let s3 = P[bl + k + 3] as number;
      for (let p = 0; p < count; p++) {
        const v = activeValue[p] as number;
        const base = kl + (activeIndex[p] as number) * nOut + k;
        s0 += v * (P[base] as number);
        s1 += v * (P[base + 1] as number);
        s2 += v * (P[base + 2] as number);
        s3 += v * (P[base + 3] as number);
      }
      z[k] = s0;
      z[k + 1] = s1;
      z[k + 2] = s2;
      z[k + 3] = s3;
    }
    for (; k < nOut; k++) {
      let s = P[bl + k] as number;
      for (let p = 0; p < count; p++) {
        s += (activeValue[p] as number) * (P[kl + (activeIndex[p] as number) * nOut + k] as number);
      }
      z[k] = s;
    }
  };

  /** Forward pass of one row from its non-zeros `index/value[from … to)`. Dropout when `seed` ≥ 0. */
  const forward = (
    P: Float32Array,
    index: Int32Array,
    value: Float32Array,
    from: number,
    to: number,
    seed: number,
    size: number,
    position: number,
  ): Float64Array => {
    // Layer 0: only the row's non-zero inputs.
    let count = 0;
    for (let p = from; p < to; p++) {
      activeIndex[count] = index[p] as number;
      activeValue[count] = value[p] as number;
      count++;
    }
    affine(P, 0, count, acts[1] as Float64Array);
    for (let l = 1; l < layers; l++) {
      // Hidden activation, then dropout, then the next kernel.
      const z = acts[l] as Float64Array;
      const n = sizes[l] as number;
      const f = factor[l] as Float64Array;
      const draw = size * (layout.hiddenBefore[l - 1] as number) + position * n;
      for (let u = 0; u < n; u++) {
        const zu = z[u] as number;
        let a: number;
        let d: number;
        if (relu) {
          a = zu > 0 ? zu : 0;
          d = zu > 0 ? 1 : 0;
        } else {
          a = Math.tanh(zu);
          d = 1 - a * a;
        }
        if (seed >= 0) {
          const m = dropped(seed, draw + u, rate) ? 0 : keep;
          a *= m;
          d *= m;
        }
        z[u] = a;
        f[u] = d;
      }
      // The next kernel, over the units that are not 0.
      let active = 0;
      for (let u = 0; u < n; u++) {
        const a = z[u] as number;
        if (a === 0) continue;
        activeIndex[active] = u;
        activeValue[active] = a;
        active++;
      }
      affine(P, l, active, acts[l + 1] as Float64Array);
    }
    return acts[layers] as Float64Array;
  };

  return {
    gradient(P, G, batch, from, to) {
      G.fill(0);
      const { csr, y, w, rows, start, size } = batch;
      const { offsets, index, value } = csr;
      const seed = rate > 0 ? batch.dropoutSeed >>> 0 : -1;
      const out = back[layers] as Float64Array;
      let loss = 0;
      for (let i = from; i < to; i++) {
        const r = rows[start + i] as number;
        const first = offsets[r] as number;
        const last = offsets[r + 1] as number;
        const z = forward(P, index, value, first, last, seed, size, i);
        const weight = w ? (w[r] as number) : 1;
        loss += weight * lossAndGradient(options.output, z, y[r] as number, units, out);
        if (weight !== 1) for (let k = 0; k < units; k++) out[k] = (out[k] as number) * weight;
        // Backward through kernels layers-1 … 1: g is d loss / d (layer l+1 pre-activation). One pass
        // over each kernel row adds its weights' gradient and sums the gradient flowing down.
        for (let l = layers - 1; l >= 1; l--) {
          const g = back[l + 1] as Float64Array;
          const a = acts[l] as Float64Array;
          const f = factor[l] as Float64Array;
          const gPrev = back[l] as Float64Array;
          const nIn = sizes[l] as number;
          const nOut = sizes[l + 1] as number;
          const kl = layout.kernel[l] as number;
          const bl = layout.bias[l] as number;
          for (let k = 0; k < nOut; k++) G[bl + k] = (G[bl + k] as number) + (g[k] as number);
          for (let j = 0; j < nIn; j++) {
            const aj = a[j] as number;
            const fj = f[j] as number;
            const base = kl + j * nOut;
            if (fj === 0) {
              gPrev[j] = 0;
              if (aj !== 0) {
                for (let k = 0; k < nOut; k++) G[base + k] = (G[base + k] as number) + aj * (g[k] as number);
              }
              continue;
            }
            let s = 0;
            for (let k = 0; k < nOut; k++) {
              const gk = g[k] as number;
              s += (P[base + k] as number) * gk;
              G[base + k] = (G[base + k] as number) + aj * gk;
            }
            gPrev[j] = s * fj;
          }
        }
        // The first layer: only the row's non-zero inputs have a gradient.
        const g = back[1] as Float64Array;
        const n1 = sizes[1] as number;
        const k0 = layout.kernel[0] as number;
        const b0 = layout.bias[0] as number;
        for (let k = 0; k < n1; k++) G[b0 + k] = (G[b0 + k] as number) + (g[k] as number);
        for (let p = first; p < last; p++) {
          const v = value[p] as number;
          const base = k0 + (index[p] as number) * n1;
          for (let k = 0; k < n1; k++) G[base + k] = (G[base + k] as number) + v * (g[k] as number);
        }
      }
      return loss;
    },
    logits(P, x, rows) {
      const out = new Float32Array(rows * units);
      for (let i = 0; i < rows; i++) {
        // The row's non-zeros in column order: the same sums the training pass makes from CSR.
        let count = 0;
        for (let j = 0, at = i * width; j < width; j++) {
          const v = x[at + j] as number;
          if (v === 0) continue;
          rowIndex[count] = j;
          rowValue[count] = v;
          count++;
        }
        const z = forward(P, rowIndex, rowValue, 0, count, -1, 0, 0);
        for (let k = 0; k < units; k++) out[i * units + k] = z[k] as number;
      }
      return out;
    },
  };
}

/** Whether dropout draw number `n` (0-based) of mulberry32(`seed`) drops its unit. */
function dropped(seed: number, n: number, rate: number): boolean {
  // mulberry32's state after n+1 calls is seed + (n+1)·0x6D2B79F5 (mod 2³²); then its output mix.
  let t = (seed + Math.imul(n + 1, MULBERRY)) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296 < rate;
}

/** One row's loss from its logits `z`, and d loss / d z written into `g` (unweighted). */
export function lossAndGradient(
  output: OutputKind,
  z: Float64Array,
  y: number,
  units: number,
  g: Float64Array,
): number {
  switch (output) {
    case 'sigmoid': {
      const v = z[0] as number;
      const e = Math.exp(-Math.abs(v));
      g[0] = (v >= 0 ? 1 / (1 + e) : e / (1 + e)) - y;
      return Math.max(v, 0) - v * y + Math.log1p(e);
    }
    case 'linear': {
      const d = (z[0] as number) - y;
      g[0] = 2 * d;
      return d * d;
    }
    case 'softmax': {
      let max = -Infinity;
      for (let k = 0; k < units; k++) max = Math.max(max, z[k] as number);
      let sum = 0;
      for (let k = 0; k < units; k++) {
        const e = Math.exp((z[k] as number) - max);
        g[k] = e;
        sum += e;
      }
      for (let k = 0; k < units; k++) g[k] = (g[k] as number) / sum - (k === y ? 1 : 0);
      return max + Math.log(sum) - (z[y] as number);
    }
  }
}
