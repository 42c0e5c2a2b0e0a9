import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkTrainedModel, forwardDense } from '../../activities/train/custom-model.js';
import { customTrainStepSchema } from '../../activities/train/custom-trainer.js';
import { modelEvidence } from '../../audit/step-evidence.js';
import { checkStepActivities } from '../../client/step-check.js';
import { defineTrainer } from '../../index.js';
import { loadStepModules } from '../../pipelines/step-modules.js';
import { plainLogistic } from '../../examples/steps/logistic-trainer.js';
import { delays } from '../../examples/steps/delays.pipeline.js';
import { flightsLifecycle } from '../integration/fixtures/lifecycle.js';
import { projectRoot } from '../support/paths.js';

const who = 'trainer "fitRidge" (from steps/ridge.ts)';
const binary = { width: 3, outputs: 1, task: 'binary' } as const;

describe('what a trainer of your own returns is checked before anything is stored', () => {
  it('accepts a linear model, one weight per input column, as one dense layer', () => {
    const checked = checkTrainedModel({ kind: 'linear', weights: [1, -2, 0.5], bias: 0.25 }, binary, who);
    expect(checked.params.sizes).toEqual([3, 1]);
    expect(Array.from(checked.params.kernels[0]!)).toEqual([1, -2, 0.5]);
    expect(Array.from(checked.params.biases[0]!)).toEqual([0.25]);
    // The logit the stored network computes: 1·1 − 2·2 + 0.5·4 + 0.25.
    expect(Array.from(forwardDense(checked, Float32Array.from([1, 2, 4]), 1))).toEqual([-0.75]);
  });

  it('refuses a wrong weight count naming the trainer, the field, the expected count and the fix', () => {
    expect(() => checkTrainedModel({ kind: 'linear', weights: [1, 2], bias: 0 }, binary, who)).toThrow(
      'trainer "fitRidge" (from steps/ridge.ts) returned a model whose weights has 2 numbers, but the data has 3 input columns and the label 1 output, so it needs 3: return one weight per input column (ctx.width = 3); nothing was stored or registered',
    );
    const classes = { width: 2, outputs: 3, task: 'multiclass' } as const;
    expect(() =>
      checkTrainedModel({ kind: 'linear', weights: [1, 2, 3, 4, 5, 6], bias: [0, 0] }, classes, who),
    ).toThrow(
      'whose bias has 2 numbers, but the label has 3 outputs (one per class): return 3 biases, one per class',
    );
    expect(() =>
      checkTrainedModel({ kind: 'linear', weights: [1, 2], bias: [0, 0, 0] }, classes, who),
    ).toThrow('weights[i * 3 + k] for input i and output k');
  });

  it('refuses numbers a stored model cannot hold, naming the index', () => {
    expect(() => checkTrainedModel({ kind: 'linear', weights: [1, NaN, 0], bias: 0 }, binary, who)).toThrow(
      'whose weights[1] is NaN: every weight and bias must be a finite number',
    );
    expect(() => checkTrainedModel({ kind: 'linear', weights: [1, 1e39, 0], bias: 0 }, binary, who)).toThrow(
      'whose weights[1] is 1e+39',
    );
    expect(() => checkTrainedModel({ kind: 'linear', weights: [1, '2', 0], bias: 0 }, binary, who)).toThrow(
      'whose weights[1] is string',
    );
    expect(() => checkTrainedModel({ kind: 'linear', weights: [1, 2, 3] }, binary, who)).toThrow(
      'whose bias is missing: return an array (or a Float32Array) of numbers',
    );
  });

  it('refuses what is not a model at all, saying what to return', () => {
    expect(() => checkTrainedModel(undefined, binary, who)).toThrow(
      "returned a model whose value is undefined: return { kind: 'linear', weights, bias } or { kind: 'dense'",
    );
    expect(() => checkTrainedModel({ kind: 'forest' }, binary, who)).toThrow(
      'whose kind is "forest": use kind \'linear\'',
    );
  });

  it('checks dense layers chain from the inputs to the outputs', () => {
    const layers = [
      { weights: [1, 0, 0, 1, 1, 1], bias: [0, -1] }, // 3 inputs → 2 units
      { weights: [1, -1], bias: [0.5] }, // 2 units → 1 output
    ];
    const checked = checkTrainedModel({ kind: 'dense', layers, activation: 'relu' }, binary, who);
    expect(checked.params.sizes).toEqual([3, 2, 1]);
    // Hidden: relu([1+0+3, 0+2+3-1]) = [4, 4]; output: 4 − 4 + 0.5.
    expect(Array.from(forwardDense(checked, Float32Array.from([1, 2, 3]), 1))).toEqual([0.5]);
    expect(() =>
      checkTrainedModel(
        { kind: 'dense', layers: [layers[0], { weights: [1, 2, 3], bias: [0] }] },
        binary,
        who,
      ),
    ).toThrow(
      'whose layers[1].weights has 3 numbers, but the layer reads 2 units of layers[0] and has 1 units (its bias), so it needs 2',
    );
    expect(() => checkTrainedModel({ kind: 'dense', layers: [layers[0]] }, binary, who)).toThrow(
      'whose layers[0].bias has 2 numbers, but the last layer must give 1 output: make the last layer 1 wide',
    );
    expect(() => checkTrainedModel({ kind: 'dense', layers, activation: 'gelu' }, binary, who)).toThrow(
      'whose activation is "gelu": use "relu" or "tanh"',
    );
  });
});

describe('a trainer of your own in mlLifecycle', () => {
  const train = (spec: { steps: { id: string; params?: unknown }[] }) =>
    spec.steps.find((s) => s.id === 'train')!;

  it('stands in for the built-in train step: its name is the activity, its params travel beside Sluice’s', () => {
    expect(train(delays)).toMatchObject({
      activity: 'plainLogistic',
      queue: 'train',
      cache: true,
      needs: ['ingest', 'validate'],
      params: {
        input: 'ingest',
        label: { sql: 'delay > 15', task: 'binary' },
        trainer: { name: 'plainLogistic', seed: 1 },
        params: { iterations: 150, learningRate: 0.5 },
      },
    });
    // What the worker parses: the same step params, every default filled in.
    const parsed = customTrainStepSchema.parse(train(delays).params);
    expect(parsed.trainer).toEqual({
      name: 'plainLogistic',
      seed: 1,
      classWeight: 'none',
      calibration: 'auto',
    });
    // Evaluation, the card and the registry read the train step's model as before.
    expect(delays.steps.find((s) => s.id === 'register')).toMatchObject({ params: { modelFrom: 'train' } });
  });

  it('refuses bad params when the pipeline is defined, naming the trainer and the field', () => {
    expect(() =>
      flightsLifecycle('bad-trainer-params', { train: plainLogistic.use({ iterations: 0 }) }),
    ).toThrow(
      'pipeline "bad-trainer-params": step "train" (your trainer plainLogistic) params are invalid: plainLogistic.params.iterations: Too small',
    );
    expect(() =>
      flightsLifecycle('bad-settings', {
        train: plainLogistic.use({}, { calibration: 'platt' }),
        label: { sql: 'delay', task: 'regression' },
      }),
    ).toThrow('trainer.calibration: calibration "platt" needs a binary label');
    expect(() =>
      flightsLifecycle('searched', {
        train: plainLogistic.use({}),
        search: { strategy: 'grid', space: { l2: [0, 0.1] }, trials: 2 },
      }),
    ).toThrow(
      "search: a search varies a built-in trainer's hyperparameters, not your trainer plainLogistic's",
    );
  });

  it('loads from a step module like a step; a built-in name is refused at load', async () => {
    const loaded = await loadStepModules(['examples/steps/logistic-trainer.ts'], projectRoot);
    expect(loaded.get('plainLogistic')).toMatchObject({
      module: 'examples/steps/logistic-trainer.ts',
      definition: { kind: 'sluice.trainer', name: 'plainLogistic' },
    });
    await expect(loadStepModules(['test/fixtures/steps/trainer-collides.ts'], projectRoot)).rejects.toThrow(
      'step module test/fixtures/steps/trainer-collides.ts: trainer "trainModel" has the name of a built-in Sluice step: rename it',
    );
    // `sluice run` checks the trainer's params (not Sluice's part of the step) and hashes its module.
    const codes = checkStepActivities(delays, loaded, { source: 'x' });
    expect(codes['plainLogistic']).toBe(loaded.get('plainLogistic')!.codeSha256);
    const bad = flightsLifecycle('late-bad', {
      train: plainLogistic.use({ iterations: { $param: 'n' } }),
      params: { n: { type: 'number', default: 100, description: 'Gradient steps.' } },
    });
    expect(() => checkStepActivities(bad, loaded, { n: -1 })).toThrow(
      'step "train" (trainer plainLogistic from examples/steps/logistic-trainer.ts): params.iterations: Too small',
    );
  });

  it('the audit report lists the model your trainer made, with its params and seed', () => {
    const sha256 = 'a'.repeat(64);
    const [model, ...others] = modelEvidence([
      { id: 'ingest', activity: 'ingestDataset', params: {}, output: { rows: 10 } },
      {
        id: 'train',
        activity: 'plainLogistic',
        params: {},
        output: {
          model: { uri: `sluice://sha256/${sha256}`, sha256, kind: 'model' },
          engine: 'custom',
          task: 'binary',
          hyperparameters: { trainer: 'plainLogistic', iterations: 150, seed: 1 },
        },
      },
    ]);
    expect(others).toEqual([]);
    expect(model).toMatchObject({
      step: 'train',
      sha256,
      engine: 'custom',
      seed: 1,
      hyperparameters: { trainer: 'plainLogistic', iterations: 150 },
    });
  });

  it('defineTrainer refuses a name a pipeline could not name', () => {
    expect(() =>
      defineTrainer({
        name: 'fit ridge',
        params: z.object({}),
        fit: () => ({ kind: 'linear', weights: [], bias: 0 }),
      }),
    ).toThrow('defineTrainer: name "fit ridge" must be letters and digits');
  });
});
