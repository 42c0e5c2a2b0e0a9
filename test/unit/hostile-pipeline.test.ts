import { describe, expect, it } from 'vitest';
import { buildPipeline, definePipeline } from '../../pipelines/define.js';
import { InvalidInputError, PipelineDefinitionError } from '../../pipelines/errors.js';
import { mlLifecycle, type LifecycleConfig } from '../../pipelines/lifecycle.js';
import { parseParamFlags, resolveRunParams } from '../../pipelines/params.js';
import type { PipelineConfig } from '../../pipelines/spec.js';

/**
 * Hostile pipeline specs and run parameters (test/fixtures/hostile/README.md): cycles, unknown steps,
 * absurd hyperparameters and `--param` values. Each is refused when the pipeline is defined or the run
 * starts, naming the step or parameter and the allowed range, never an hour later inside a step.
 */

const lifecycle: LifecycleConfig = {
  id: 'absurd',
  source: { uri: 'data.csv' },
  features: { numeric: ['a'], categorical: ['b'] },
  label: { column: 'y', task: 'binary' },
  split: { kind: 'hash', key: 'a' },
  train: { model: 'logistic', epochs: 3 },
  approval: { approvers: ['rita'] },
};

function definitionError(define: () => unknown): PipelineDefinitionError {
  try {
    define();
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineDefinitionError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThan(2000);
    return error as PipelineDefinitionError;
  }
  throw new Error('the pipeline was accepted');
}

const step = (id: string, needs: string[] = []) => ({ id, activity: 'profileDataset', needs });

describe('pipeline graphs that cannot run are refused at definition', () => {
  it.each<[string, PipelineConfig, RegExp]>([
    [
      'a three-step cycle',
      { id: 'p', steps: [step('a', ['c']), step('b', ['a']), step('c', ['b'])] },
      /pipeline "p": steps form a cycle a → c → b → a: remove one of these dependencies/,
    ],
    ['a step needing itself', { id: 'p', steps: [step('a', ['a'])] }, /step "a" needs itself/],
    [
      'a misspelt dependency',
      { id: 'p', steps: [step('train'), step('eval', ['trian'])] },
      /step "eval" needs unknown step "trian": did you mean "train"\?/,
    ],
    [
      'an activity name that is code',
      { id: 'p', steps: [{ id: 'a', activity: 'require("fs").rmSync("/")' }] },
      /steps\.0\.activity: an activity name such as profileDataset/,
    ],
    [
      'a parameter named like an Object method',
      { id: 'p', steps: [{ id: 'a', activity: 'x', params: { n: { $param: 'constructor' } } }] },
      /step "a" uses parameter "constructor", which the pipeline does not declare/,
    ],
    [
      'a condition on toString',
      { id: 'p', steps: [{ id: 'a', activity: 'x', when: { param: 'toString', equals: true } }] },
      /condition on parameter "toString", which the pipeline does not declare/,
    ],
    [
      '100 000 steps',
      { id: 'p', steps: Array.from({ length: 100_000 }, (_, i) => step(`s${i}`)) },
      /steps: at most 500 steps in one pipeline/,
    ],
    [
      'maxParallel 1e9',
      { id: 'p', maxParallel: 1e9, steps: [step('a')] },
      /maxParallel: Too big: expected number to be <=64/,
    ],
    [
      'a timeout of 999 999 999 999 days',
      { id: 'p', steps: [{ id: 'a', activity: 'x', timeout: '999999999999d' }] },
      /steps\.0\.timeout: at most 366d/,
    ],
    [
      'retries 1e6 times',
      { id: 'p', steps: [{ id: 'a', activity: 'x', retry: { maxAttempts: 1e6 } }] },
      /steps\.0\.retry\.maxAttempts: Too big: expected number to be <=100/,
    ],
    [
      'a 5 MB string parameter',
      { id: 'p', steps: [{ id: 'a', activity: 'x', params: { s: 'x'.repeat(5_000_000) } }] },
      /pipeline "p" is 4884 KB as JSON, more than 256 KB: .*move large values .* into files/,
    ],
    [
      'NaN in step params',
      { id: 'p', steps: [{ id: 'a', activity: 'x', params: { n: Number.NaN } }] },
      /steps\.0\.params\.n: Invalid input/,
    ],
  ])('%s', (_name, config, message) => {
    expect(definitionError(() => buildPipeline(config)).message).toMatch(message);
  });
});

describe('absurd training parameters are refused at definition, naming step "train", the parameter and the range', () => {
  // Most of these are compile errors in a .ts pipeline file; these are the run-time checks that guard a
  // .js file, or a config built at run time, which TypeScript never sees.
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'epochs 1e12',
      { train: { model: 'logistic', epochs: 1e12 } },
      /trainer\.epochs: Too big: expected number to be <=1000/,
    ],
    [
      'a negative batch size',
      { train: { model: 'mlp', batchSize: -1 } },
      /trainer\.batchSize: Too small: expected number to be >=1/,
    ],
    [
      'a fractional batch size',
      { train: { model: 'mlp', batchSize: 2.5 } },
      /trainer\.batchSize: Invalid input: expected int/,
    ],
    [
      'learning rate 0',
      { train: { model: 'logistic', learningRate: 0 } },
      /trainer\.learningRate: Too small: expected number to be >0/,
    ],
    [
      'an object where a number belongs',
      { train: { model: 'logistic', epochs: { n: 3 } } },
      /trainer\.epochs: Invalid input: expected number, received object/,
    ],
    [
      'a 10 000-character model name',
      { train: { model: 'x'.repeat(10_000) } },
      /trainer\.model: Invalid option: expected one of "logistic"\|"softmax"\|"mlp"\|"linear"/,
    ],
    [
      '100 000 hidden layers',
      { train: { model: 'mlp', layers: Array<number>(100_000).fill(4096) } },
      /trainer\.layers: Too big: expected array to have <=8 items/,
    ],
    [
      'a hidden layer 1e9 wide',
      { train: { model: 'mlp', layers: [1e9] } },
      /trainer\.layers\.0: Too big: expected number to be <=4096/,
    ],
    [
      'a misspelt hyperparameter',
      { train: { model: 'logistic', epoch: 3 } },
      /trainer: Unrecognized key: "epoch"/,
    ],
    [
      'dropout 1',
      { train: { model: 'mlp', dropout: 1 } },
      /trainer\.dropout: Too big: expected number to be <=0\.9/,
    ],
    [
      'topK 1e6',
      { features: { categorical: [{ name: 'b', topK: 1e6 }] } },
      /features\.categorical\.0\.topK: Too big/,
    ],
    [
      'a 10 000-character feature name',
      { features: { numeric: ['x'.repeat(10_000)] } },
      /features\.numeric\.0\.name: Too big: expected string to have <=200 characters/,
    ],
    ['no features at all', { features: {} }, /features: declare at least one feature/],
    [
      'validation + test = 1.8',
      { split: { kind: 'hash', key: 'a', validation: 0.9, test: 0.9 } },
      /split: validation \+ test must leave at least 10% to train/,
    ],
    [
      'k = 1e9 folds',
      { split: { kind: 'kfold', key: 'a', k: 1e9 } },
      /split\.k: Too big: expected number to be <=20/,
    ],
    [
      'a search range up to 1e12 epochs',
      { search: { strategy: 'random', trials: 4, space: { epochs: { min: 1, max: 1e12, integer: true } } } },
      /search trial 1 \(\{"epochs":\d+\}\) is not a valid trainer: epochs: Too big: expected number to be <=1000/,
    ],
    [
      'a grid with a negative batch size',
      { search: { strategy: 'grid', space: { batchSize: [32, -5] } } },
      /search trial 2 \(\{"batchSize":-5\}\) is not a valid trainer: batchSize: Too small/,
    ],
    [
      'a search over an unknown hyperparameter',
      { search: { strategy: 'grid', space: { epoks: [1, 2] } } },
      /search space names unknown hyperparameter "epoks"/,
    ],
    [
      'search parallelism 1e9',
      { search: { strategy: 'grid', space: {}, maxParallel: 1e9 } },
      /search\.maxParallel: Too big: expected number to be <=64/,
    ],
  ])('%s', (_name, overrides, message) => {
    const error = definitionError(() => mlLifecycle({ ...lifecycle, ...overrides }));
    expect(error.message).toMatch(/^pipeline "absurd"/);
    expect(error.message).toMatch(message);
  });

  it('NaN and Infinity hyperparameters are refused too', () => {
    for (const learningRate of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = definitionError(() =>
        mlLifecycle({ ...lifecycle, train: { model: 'logistic', learningRate } }),
      );
      expect(error.message).toMatch(
        /pipeline "absurd": step "train" params are invalid: trainer\.learningRate: Invalid input: expected number, received (NaN|Infinity)/,
      );
    }
  });

  it('a trainer value given as a run parameter is left to run start, and the same config with sane values defines', () => {
    const spec = mlLifecycle({
      ...lifecycle,
      params: { epochs: { type: 'integer', default: 3 } },
      train: { model: 'logistic', epochs: { $param: 'epochs' } },
    });
    expect(spec.params['epochs']).toMatchObject({ type: 'integer' });
    expect(mlLifecycle(lifecycle).steps.map((s) => s.id)).toContain('train');
  });
});

describe('absurd --param values are refused at run start', () => {
  const spec = definePipeline({
    id: 'p',
    params: {
      epochs: { type: 'integer', default: 3 },
      rate: { type: 'number', default: 0.1 },
      flag: { type: 'boolean', default: false },
      note: { type: 'string', default: '' },
    },
    steps: [{ id: 'a', activity: 'x', params: { e: { $param: 'epochs' }, r: { $param: 'rate' } } }],
  });
  const run = (flags: string[]) => resolveRunParams(spec, parseParamFlags(flags));

  it.each([
    [['epochs=1e12'], /parameter "epochs" of pipeline "p" must be an integer, got "1e12"/],
    [['epochs=99999999999999999999'], /must be an integer, got "99999999999999999999"/],
    [['epochs=3.5'], /must be an integer/],
    [['rate=1e400'], /parameter "rate" of pipeline "p" must be a finite number, got "1e400"/],
    [['rate=Infinity'], /must be a finite number, got "Infinity"/],
    [['rate=NaN'], /must be a finite number, got "NaN"/],
    [['rate=0x10'], /must be a finite number, got "0x10"/],
    [['rate=1_000'], /must be a finite number/],
    [['rate= '], /must be a finite number/],
    [['flag=yes'], /parameter "flag" of pipeline "p" must be true or false, got "yes"/],
    [[`note=${'x'.repeat(100_000)}`], /must be at most 65536 characters, got "x{80}… \(100000 characters\)"/],
    [
      [`${'n'.repeat(10_000)}=1`],
      /pipeline "p" has no parameter "n{80}…": known parameters are epochs, rate, flag, note/,
    ],
    [['constructor=1'], /pipeline "p" has no parameter "constructor"/],
    [['toString=1'], /pipeline "p" has no parameter "toString"/],
    [['__proto__=1'], /pipeline "p" has no parameter "__proto__"/],
    [['=1'], /--param "=1" is not of the form name=value/],
  ])('%j', (flags, message) => {
    let error: unknown;
    try {
      run(flags);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.length).toBeLessThan(500);
  });

  it('sane values pass, typed', () => {
    expect(run(['epochs=-5', 'rate=-1.5e-3', 'flag=true', 'note=x=y'])).toEqual({
      epochs: -5,
      rate: -0.0015,
      flag: true,
      note: 'x=y',
    });
  });
});
