import type { Matrix } from '../activities/train/load-matrix.js';
import { ADAM } from '../activities/train/trainer.js';
import { deriveSeed, mulberry32, permutation, SEED_PURPOSE } from '../pipelines/prng.js';

/**
 * The baseline the linear trainer is measured against: logistic regression written as the plainest
 * JavaScript loop a person would write over the same typed arrays — the matrix's non-zeros as CSR
 * (offsets, column indices, values), rows visited in the same shuffled order, the same batch size,
 * the same Adam update per batch over every weight, the same initial weights. No framework, no
 * checkpoints, no validation pass, no yielding to the event loop: the work a trainer cannot avoid.
 * With `shuffle: false` it visits rows in storage order, which trains differently (worse SGD) but shows
 * the ceiling set by memory: every row read front to back.
 */
export interface PlainLoopResult {
  /** Rows/s of each epoch (the train pass only), by wall time. */
  rowsPerSecond: number[];
  /** The same by this process's CPU time (steadier when other work shares the machine). */
  rowsPerCpuSecond: number[];
  weights: Float64Array;
  bias: number;
}

export interface Csr {
  offsets: Uint32Array;
  index: Int32Array;
  value: Float32Array;
}

/** The non-zeros of a row-major matrix as CSR. */
export function toCsr(m: Matrix): Csr {
  let nnz = 0;
  for (let i = 0; i < m.x.length; i++) if (m.x[i] !== 0) nnz++;
  const offsets = new Uint32Array(m.rows + 1);
  const index = new Int32Array(nnz);
  const value = new Float32Array(nnz);
  let at = 0;
  for (let r = 0; r < m.rows; r++) {
    offsets[r] = at;
    for (let j = 0; j < m.width; j++) {
      const v = m.x[r * m.width + j] as number;
      if (v === 0) continue;
      index[at] = j;
      value[at] = v;
      at++;
    }
  }
  offsets[m.rows] = at;
  return { offsets, index, value };
}

export function plainLoop(
  train: Matrix,
  initial: { kernel: Float32Array; bias: number },
  options: { epochs: number; batchSize: number; learningRate: number; seed: number; shuffle: boolean },
): PlainLoopResult {
  const { offsets, index, value } = toCsr(train);
  const y = train.y;
  const width = train.width;
  const w = Float64Array.from(initial.kernel);
  let b = initial.bias;
  const gw = new Float64Array(width);
  const m = new Float64Array(width + 1);
  const v = new Float64Array(width + 1);
  const rowsPerSecond: number[] = [];
  const rowsPerCpuSecond: number[] = [];
  let t = 0;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const order = options.shuffle
      ? permutation(train.rows, mulberry32(deriveSeed(options.seed, SEED_PURPOSE.order, epoch)))
      : Uint32Array.from({ length: train.rows }, (_, i) => i);
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let start = 0; start < train.rows; start += options.batchSize) {
      const end = Math.min(start + options.batchSize, train.rows);
      let gb = 0;
      for (let i = start; i < end; i++) {
        const r = order[i] as number;
        const from = offsets[r] as number;
        const to = offsets[r + 1] as number;
        let z = b;
        for (let p = from; p < to; p++) z += (value[p] as number) * (w[index[p] as number] as number);
        const g = 1 / (1 + Math.exp(-z)) - (y[r] as number);
        gb += g;
        for (let p = from; p < to; p++) {
          const j = index[p] as number;
          gw[j] = (gw[j] as number) + g * (value[p] as number);
        }
      }
      t++;
      const size = end - start;
      const lrT = (options.learningRate * Math.sqrt(1 - ADAM.beta2 ** t)) / (1 - ADAM.beta1 ** t);
      for (let j = 0; j <= width; j++) {
        const grad = (j === width ? gb : (gw[j] as number)) / size;
        const mj = ADAM.beta1 * (m[j] as number) + (1 - ADAM.beta1) * grad;
        const vj = ADAM.beta2 * (v[j] as number) + (1 - ADAM.beta2) * grad * grad;
        m[j] = mj;
        v[j] = vj;
        const step = (lrT * mj) / (Math.sqrt(vj) + ADAM.epsilon);
        if (j === width) b -= step;
        else w[j] = (w[j] as number) - step;
      }
      gw.fill(0);
    }
    const used = process.cpuUsage(cpu);
    rowsPerSecond.push(train.rows / ((performance.now() - started) / 1000));
    rowsPerCpuSecond.push(train.rows / ((used.user + used.system) / 1e6));
  }
  return { rowsPerSecond, rowsPerCpuSecond, weights: w, bias: b };
}

/** Logits of a matrix under the plain loop's weights. */
export function plainLogits(result: PlainLoopResult, m: Matrix): Float32Array {
  const out = new Float32Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let s = result.bias;
    for (let j = 0; j < m.width; j++) {
      const x = m.x[r * m.width + j] as number;
      if (x !== 0) s += x * (result.weights[j] as number);
    }
    out[r] = s;
  }
  return out;
}
