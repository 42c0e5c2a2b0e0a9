import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { DenseForward } from '../../lib/model/dense-forward.js';
import { networkScorer, predictBatched } from '../../lib/model/model-artifact.js';

const width = 9;

/** A network of Dense layers: relu and tanh hidden layers and the given output. */
function dense(output: 'sigmoid' | 'softmax' | 'linear', useBias = true): tf.Sequential {
  const network = tf.sequential();
  network.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [width], useBias }));
  network.add(tf.layers.dense({ units: 8, activation: 'tanh', useBias }));
  network.add(tf.layers.dense({ units: output === 'softmax' ? 3 : 1, activation: output, useBias }));
  return network;
}

/** Rows like a transform's: standardised numbers in the first columns, one-hot (mostly 0) in the rest. */
function matrix(rows: number): Float32Array {
  const x = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < 4; i++) x[r * width + i] = Math.sin((r * width + i) * 12.9898) * 3;
    x[r * width + 4 + (r % 5)] = 1;
  }
  return x;
}

const networks: tf.LayersModel[] = [];
afterAll(() => networks.forEach((n) => n.dispose()));

describe('Dense networks are scored in plain JavaScript', () => {
  it.each([
    ['sigmoid', true],
    ['softmax', true],
    ['linear', true],
    ['sigmoid', false],
  ] as const)('%s output (bias %s): TF.js numbers to float32 rounding', (output, useBias) => {
    const network = dense(output, useBias);
    networks.push(network);
    const forward = DenseForward.of(network, width);
    expect(forward).not.toBeNull();
    const rows = 70;
    const x = matrix(rows);
    const ours = forward!.predict(x, rows);
    const theirs = (network.predict(tf.tensor2d(x, [rows, width])) as tf.Tensor).dataSync();
    expect(ours.length).toBe(theirs.length);
    for (let i = 0; i < ours.length; i++) {
      expect(Math.abs((ours[i] as number) - (theirs[i] as number))).toBeLessThan(
        1e-5 * Math.max(1, Math.abs(theirs[i] as number)),
      );
    }
    if (output === 'softmax') {
      for (let r = 0; r < rows; r++)
        expect(ours[r * 3]! + ours[r * 3 + 1]! + ours[r * 3 + 2]!).toBeCloseTo(1, 6);
    }
  });

  it('gives a row the same score alone as among other rows', () => {
    const network = dense('sigmoid');
    networks.push(network);
    const rows = 31;
    const x = matrix(rows);
    const together = predictBatched(tf, network, x, rows, width);
    for (let r = 0; r < rows; r++) {
      const alone = predictBatched(tf, network, x.subarray(r * width, (r + 1) * width), 1, width);
      expect(alone[0]).toBe(together[r]);
    }
  });

  it('keeps NaN inputs NaN, as TF.js does, instead of scoring them as 0', () => {
    const network = dense('sigmoid');
    networks.push(network);
    const x = matrix(1);
    x[0] = Number.NaN;
    expect(Number.isNaN(DenseForward.of(network, width)!.predict(x, 1)[0])).toBe(true);
  });

  it('leaves any other network to TF.js, with its per-call cost said', () => {
    const network = tf.sequential();
    network.add(tf.layers.dense({ units: 4, activation: 'relu', inputShape: [width] }));
    network.add(tf.layers.batchNormalization());
    network.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
    networks.push(network);
    expect(DenseForward.of(network, width)).toBeNull();
    const scorer = networkScorer(tf, network, width);
    expect(scorer.perCall).toBe(true);
    const x = matrix(5);
    expect(Array.from(scorer.predict(x, 5))).toEqual(
      Array.from((network.predict(tf.tensor2d(x, [5, width])) as tf.Tensor).dataSync()),
    );
    // An activation the forward does not compute is TF.js's too.
    const elu = tf.sequential();
    elu.add(tf.layers.dense({ units: 1, activation: 'elu', inputShape: [width] }));
    networks.push(elu);
    expect(DenseForward.of(elu, width)).toBeNull();
    const linear = dense('linear');
    networks.push(linear);
    expect(networkScorer(tf, linear, width).perCall).toBe(false);
  });
});
