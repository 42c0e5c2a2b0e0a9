import { z } from 'zod';
import { defineTrainer, InvalidInputError } from 'sluice';

/**
 * A trainer of your own, in plain TypeScript: L2-regularised logistic regression by full-batch
 * gradient descent. Sluice prepares the matrices (split, fitted transform, class weights) and, after
 * `fit`, calibrates, evaluates, writes the model card, registers and serves the weights it returns.
 *
 *   npx sluice worker --steps examples/steps/logistic-trainer.ts
 *   npx sluice run examples/steps/delays.pipeline.ts --steps examples/steps/logistic-trainer.ts --wait
 */
export const plainLogistic = defineTrainer({
  name: 'plainLogistic',
  description: 'Logistic regression by full-batch gradient descent, with an L2 penalty',
  params: z.strictObject({
    /** Gradient steps over the whole training split. */
    iterations: z.number().int().min(1).max(5000).default(200),
    learningRate: z.number().positive().max(10).default(0.5),
    /** L2 penalty on the weights (not the bias). */
    l2: z.number().min(0).default(0.001),
  }),
  async fit({ params, train, width, label, heartbeat, log, signal }) {
    if (label.task !== 'binary') {
      throw new InvalidInputError(
        `plainLogistic learns a binary label, and this one is ${label.task}: use Sluice's softmax or linear trainer`,
      );
    }
    const { x, y, w, rows } = train;
    const weights = new Float64Array(width);
    let bias = 0;
    let totalWeight = 0;
    for (let i = 0; i < rows; i++) totalWeight += w ? w[i]! : 1;
    const grad = new Float64Array(width);
    for (let step = 0; step < params.iterations; step++) {
      grad.fill(0);
      let gradBias = 0;
      let loss = 0;
      for (let i = 0; i < rows; i++) {
        let z = bias;
        for (let j = 0; j < width; j++) z += x[i * width + j]! * weights[j]!;
        const p = 1 / (1 + Math.exp(-z));
        const weight = w ? w[i]! : 1;
        const error = (p - y[i]!) * weight;
        for (let j = 0; j < width; j++) grad[j]! += error * x[i * width + j]!;
        gradBias += error;
        loss += weight * (Math.max(z, 0) - z * y[i]! + Math.log1p(Math.exp(-Math.abs(z))));
      }
      for (let j = 0; j < width; j++) {
        weights[j]! -= params.learningRate * (grad[j]! / totalWeight + params.l2 * weights[j]!);
      }
      bias -= (params.learningRate * gradBias) / totalWeight;
      if (step % 20 === 0) {
        // Yield to the event loop now and then: heartbeats go out, and cancellation is seen.
        await new Promise((resolve) => setImmediate(resolve));
        signal.throwIfAborted();
        heartbeat({ step, loss: loss / totalWeight });
      }
    }
    log.info('plainLogistic fitted', { iterations: params.iterations, rows, width });
    return { kind: 'linear', weights: Array.from(weights), bias };
  },
});
