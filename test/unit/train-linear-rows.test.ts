import { describe, expect, it } from 'vitest';
import { initDense } from '../../activities/train/dense-params.js';
import type { OutputKind, Trainer, TrainingData } from '../../activities/train/trainer.js';
import { runTrainingLoop } from '../../activities/train/training-loop.js';
import { LinearRowsMemory } from '../../activities/train/linear-rows-wasm.js';
import { rowRecords } from '../../activities/train/row-records.js';
import { createTypedLinearTrainer } from '../../activities/train/typed-linear.js';
import { mulberry32 } from '../../pipelines/prng.js';

/** Two numeric inputs and two one-hot groups (mostly zeros), like an encoded table; some rows all zero. */
function encoded(rows: number, output: OutputKind, seed: number): TrainingData {
  const width = 2 + 4 + 6;
  const random = mulberry32(seed);
  const x = new Float32Array(rows * width);
  const y = new Float32Array(rows);
  const w = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    if (r % 17 !== 0) {
      x[at] = random() * 2 - 1;
      x[at + 1] = random() < 0.3 ? 0 : random();
      x[at + 2 + Math.floor(random() * 4)] = 1;
      x[at + 6 + Math.floor(random() * 6)] = 1;
    }
    const logit = (x[at] as number) * 2 - (x[at + 3] as number) + (x[at + 7] as number);
    y[r] =
      output === 'softmax'
        ? logit > 0.5
          ? 2
          : logit > -0.5
            ? 1
            : 0
        : output === 'linear'
          ? logit + random() - 0.5
          : random() < 1 / (1 + Math.exp(-logit))
            ? 1
            : 0;
    w[r] = y[r] === 1 ? 2.5 : 1;
  }
  return { x, y, w, rows, width };
}

/** The same trainer seen only through `step`: the training loop copies each batch, as for TF.js. */
function copyingOnly(trainer: Trainer): Trainer {
  return {
    engine: trainer.engine,
    step: (x, y, w, size, seed) => trainer.step(x, y, w, size, seed),
    logits: (x, rows) => trainer.logits(x, rows),
    state: () => trainer.state(),
    restore: (state) => trainer.restore(state),
    dispose: () => trainer.dispose(),
  };
}

describe('linear trainer reading rows in place', () => {
  it.each<[OutputKind, number]>([
    ['sigmoid', 1],
    ['softmax', 3],
    ['linear', 1],
  ])('%s: gives bit-identical weights, history and loss to the copied-batch step', async (output, units) => {
    const train = encoded(1500, output, 1);
    const validation = encoded(300, output, 2);
    const options = { output, learningRate: 0.02, l2: 0.001, dropout: 0, activation: 'relu' as const };
    const loop = { epochs: 4, batchSize: 64, seed: 9, output, earlyStopping: { patience: 10, minDelta: 0 } };
    const run = (wrap: (t: Trainer) => Trainer) =>
      runTrainingLoop(
        wrap(createTypedLinearTrainer(initDense([train.width, units], mulberry32(3)), options)),
        train,
        validation,
        loop,
      );
    const fast = await run((t) => t);
    const copied = await run(copyingOnly);
    expect(fast.history.map(({ ms: _, ...h }) => h)).toEqual(copied.history.map(({ ms: _, ...h }) => h));
    expect(Buffer.from(fast.params.kernels[0]?.buffer ?? new ArrayBuffer(0))).toEqual(
      Buffer.from(copied.params.kernels[0]?.buffer ?? new ArrayBuffer(0)),
    );
    expect(Array.from(fast.params.biases[0] ?? [])).toEqual(Array.from(copied.params.biases[0] ?? []));
    // and it learned: the validation loss fell
    expect(fast.history.at(-1)?.validationLoss).toBeLessThan(fast.history[0]?.validationLoss ?? 0);
  });

  it.each<[OutputKind, number]>([
    ['sigmoid', 1],
    ['softmax', 3],
  ])('%s: scores rows (validation, test) exactly as the dense sum over every input', (output, units) => {
    const data = encoded(400, output, 4);
    const params = initDense([data.width, units], mulberry32(5));
    const trainer = createTypedLinearTrainer(params, {
      output,
      learningRate: 0.02,
      l2: 0,
      dropout: 0,
      activation: 'relu',
    });
    const W = params.kernels[0] as Float32Array;
    const b = params.biases[0] as Float32Array;
    const dense = new Float32Array(data.rows * units);
    for (let i = 0; i < data.rows; i++)
      for (let k = 0; k < units; k++) {
        let s = b[k] as number;
        for (let j = 0; j < data.width; j++)
          s += (data.x[i * data.width + j] as number) * (W[j * units + k] as number);
        dense[i * units + k] = s;
      }
    expect(Array.from(trainer.logits(data.x, data.rows))).toEqual(Array.from(dense));
    // scored twice (the validation split every epoch): the same numbers
    expect(Array.from(trainer.logits(data.x, data.rows))).toEqual(Array.from(dense));
  });
});

describe('the per-batch kernel (WebAssembly)', () => {
  it.each<[OutputKind, boolean]>([
    ['sigmoid', true],
    ['sigmoid', false],
    ['linear', true],
  ])(
    '%s (row weights: %s): loss and gradient sums agree with the textbook formulas over every input',
    (output, weighted) => {
      // 3,000 rows near z = 0 in one batch: a running product of (1 + e^-|z|) ≈ 2 per row would overflow.
      const data = encoded(3000, output, 6);
      if (!weighted) delete data.w;
      const { kernels, biases } = initDense([data.width, 1], mulberry32(8));
      const W = (kernels[0] as Float32Array).map((v) => v * 0.01);
      const b = biases[0] as Float32Array;
      // Records in storage order and one run covering every row: the kernel sees the whole matrix as a batch.
      const memory = new LinearRowsMemory(data.width);
      memory.W.set(W);
      memory.records(
        data,
        Uint32Array.from({ length: data.rows }, (_, i) => i),
      );
      memory.runs(data.rows, data.rows).set([0, data.rows]);
      const loss = memory.batch(output === 'sigmoid', 1, b[0] as number);
      const { gradW, gradB } = memory;
      let refLoss = 0;
      const refW = new Float64Array(data.width);
      let refB = 0;
      for (let i = 0; i < data.rows; i++) {
        let s = b[0] as number;
        for (let j = 0; j < data.width; j++) s += (data.x[i * data.width + j] as number) * (W[j] as number);
        const z = Math.fround(s);
        const y = data.y[i] as number;
        const weight = data.w ? (data.w[i] as number) : 1;
        const p = 1 / (1 + Math.exp(-z));
        refLoss +=
          weight * (output === 'sigmoid' ? -(y * Math.log(p) + (1 - y) * Math.log(1 - p)) : (z - y) ** 2);
        const g = weight * (output === 'sigmoid' ? p - y : 2 * (z - y));
        refB += g;
        for (let j = 0; j < data.width; j++)
          refW[j] = (refW[j] as number) + g * (data.x[i * data.width + j] as number);
      }
      expect(loss).toBeCloseTo(refLoss, 6);
      expect(gradB[0]).toBeCloseTo(refB, 9);
      for (let j = 0; j < data.width; j++) expect(gradW[j]).toBeCloseTo(refW[j] as number, 9);
    },
  );
});

describe('restoring a checkpoint', () => {
  const options = {
    output: 'sigmoid' as const,
    learningRate: 0.02,
    l2: 0,
    dropout: 0,
    activation: 'relu' as const,
  };

  it('continues from the checkpoint’s weights and moments, and refuses one of another shape', () => {
    const data = encoded(200, 'sigmoid', 3);
    const trainer = createTypedLinearTrainer(initDense([data.width, 1], mulberry32(1)), options);
    const other = createTypedLinearTrainer(initDense([data.width, 1], mulberry32(2)), options);
    trainer.step(data.x, data.y, data.w, data.rows, 0);
    other.restore(trainer.state());
    expect(other.state()).toEqual(trainer.state());
    expect(Array.from(other.logits(data.x, data.rows))).toEqual(
      Array.from(trainer.logits(data.x, data.rows)),
    );
    const wider = createTypedLinearTrainer(initDense([data.width + 1, 1], mulberry32(2)), options);
    expect(() => wider.restore(trainer.state())).toThrow(/resume from a checkpoint of the same model/);
  });
});

describe('row records', () => {
  /** Rows of `width` columns from a list of rows. */
  const matrix = (rows: number[][]): TrainingData => ({
    x: Float32Array.from(rows.flat()),
    y: Float32Array.from(rows, (_, i) => i % 2),
    rows: rows.length,
    width: rows[0]?.length ?? 0,
  });

  it('keeps values only before the all-0-and-1 columns, and every entry in column order', () => {
    // Column 1 holds only 0 and 1 but lies before column 2, which holds 0.5: only 3 and 4 are "ones".
    const data = matrix([
      [0.25, 1, 0, 1, 0],
      [0, 0, 0.5, 0, 1],
      [2, 1, 3, 1, 0],
    ]);
    const records = rowRecords(data, Uint32Array.of(2, 0, 1));
    expect(records).toMatchObject({ onesFrom: 3, k: 4, kv: 3, stride: 4 + 4 + 3 });
    const { words, floats, stride } = records;
    // Record 0 holds row 2: three valued entries (columns 0, 1, 2), then column 3 as an index alone.
    expect(Array.from(words.subarray(0, 2))).toEqual([3, 1]);
    expect(Array.from(words.subarray(4, 8))).toEqual([0, 1, 2, 3]);
    expect(Array.from(floats.subarray(8, 11))).toEqual([2, 1, 3]);
    expect(floats[2]).toBe(0); // row 2's label
    // Record 2 holds row 1: column 2 (0.5), then column 4 as an index alone.
    expect(Array.from(words.subarray(2 * stride, 2 * stride + 2))).toEqual([1, 1]);
    expect(Array.from(words.subarray(2 * stride + 4, 2 * stride + 6))).toEqual([2, 4]);
    expect(floats[2 * stride + 8]).toBe(0.5);
  });

  it('treats NaN as a value, not as a one', () => {
    const data = matrix([
      [1, 0, 1],
      [0, 1, Number.NaN],
    ]);
    expect(rowRecords(data, Uint32Array.of(0, 1))).toMatchObject({ onesFrom: 3, kv: 2 });
    expect(
      rowRecords(
        matrix([
          [1, 0, 1],
          [0, 1, 0],
        ]),
        Uint32Array.of(0, 1),
      ),
    ).toMatchObject({
      onesFrom: 0,
      kv: 0,
      stride: 4 + 2,
    });
  });
});
