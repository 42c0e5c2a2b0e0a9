import { describe, expect, it } from 'vitest';
import { definePipeline } from '../../pipelines/define.js';
import { PipelineDefinitionError } from '../../pipelines/errors.js';
import { topologicalOrder } from '../../pipelines/lint.js';
import { parseParamFlags, resolveRunParams, withParamDefaults } from '../../pipelines/params.js';
import { resolveParamRefs } from '../../pipelines/refs.js';

const step = (id: string, needs: string[] = []) => ({ id, activity: 'noop', needs });

describe('definePipeline', () => {
  it('returns frozen, JSON-serialisable data with every default filled in', () => {
    const spec = definePipeline({ id: 'p', steps: [step('a')] });
    expect(spec).toEqual({
      id: 'p',
      description: '',
      maxParallel: 4,
      params: {},
      steps: [
        {
          id: 'a',
          activity: 'noop',
          needs: [],
          params: {},
          queue: 'orchestration',
          timeout: '10m',
          heartbeat: '20s',
          cache: false,
          retry: { maxAttempts: 3, initialInterval: '1s', backoff: 2, maxInterval: '1m' },
        },
      ],
    });
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
    expect(Object.isFrozen(spec.steps[0])).toBe(true);
    expect(() => (spec.steps as unknown as unknown[]).push(step('b'))).toThrow(TypeError);
  });

  it('names a step defined twice', () => {
    expect(() => definePipeline({ id: 'p', steps: [step('a'), step('a')] })).toThrow(
      'pipeline "p": step "a" is defined twice: give each step a unique id',
    );
  });

  it('names an unknown dependency and suggests the closest step', () => {
    expect(() => definePipeline({ id: 'p', steps: [step('ingest'), step('train', ['ingset'])] })).toThrow(
      'step "train" needs unknown step "ingset": did you mean "ingest"?',
    );
    expect(() => definePipeline({ id: 'p', steps: [step('a', ['zzz'])] })).toThrow(
      'step "a" needs unknown step "zzz": define it or remove it from needs',
    );
  });

  it('names the steps of a cycle', () => {
    const attempt = () =>
      definePipeline({ id: 'p', steps: [step('a', ['c']), step('b', ['a']), step('c', ['b'])] });
    expect(attempt).toThrow(PipelineDefinitionError);
    expect(attempt).toThrow('steps form a cycle a → c → b → a: remove one of these dependencies');
    expect(() => definePipeline({ id: 'p', steps: [step('a', ['a'])] })).toThrow('step "a" needs itself');
  });

  it('lists schema problems with their paths', () => {
    const attempt = () =>
      definePipeline({ id: 'Bad Id', steps: [{ id: 'a', activity: 'noop', timeout: 'soon' }] });
    expect(attempt).toThrow(
      /pipeline "Bad Id" is invalid: id: lowercase letters.*; steps\.0\.timeout: a duration/,
    );
    expect(() => definePipeline({ id: 'p', steps: [] })).toThrow('steps: a pipeline needs at least one step');
    expect(() => definePipeline({ id: 'p', steps: [{ ...step('a'), extra: 1 }] } as never)).toThrow(
      /steps\.0: Unrecognized key: "extra"/,
    );
  });

  it('refuses a step parameter that references an undeclared run parameter', () => {
    expect(() =>
      definePipeline({ id: 'p', steps: [{ ...step('a'), params: { source: { $param: 'src' } } }] }),
    ).toThrow('step "a" uses parameter "src", which the pipeline does not declare: add it under params');
  });
});

describe('topologicalOrder', () => {
  it('puts every step after the steps it needs, in waves, stable within a wave', () => {
    const order = topologicalOrder([step('d', ['b', 'c']), step('b', ['a']), step('a'), step('c', ['a'])]);
    expect(order.map((s) => s.id)).toEqual(['a', 'c', 'b', 'd']);
  });
});

describe('run parameters', () => {
  const spec = definePipeline({
    id: 'p',
    params: {
      source: { type: 'string' },
      epochs: { type: 'integer', default: 10 },
      rate: { type: 'number', default: 0.1 },
      shuffle: { type: 'boolean', default: true },
    },
    steps: [{ ...step('a'), params: { file: { $param: 'source' }, nested: [{ $param: 'epochs' }] } }],
  });

  it('types values as declared and fills defaults', () => {
    expect(resolveRunParams(spec, parseParamFlags(['source=a=b.csv', 'rate=0.5', 'shuffle=false']))).toEqual({
      source: 'a=b.csv',
      epochs: 10,
      rate: 0.5,
      shuffle: false,
    });
  });

  it.each([
    [['source=x', 'epochs=1.5'], 'parameter "epochs" of pipeline "p" must be an integer, got "1.5"'],
    [['source=x', 'rate=fast'], 'parameter "rate" of pipeline "p" must be a finite number, got "fast"'],
    [['source=x', 'shuffle=yes'], 'parameter "shuffle" of pipeline "p" must be true or false, got "yes"'],
    [[], 'pipeline "p" needs parameter "source" (string): pass --param source=<value>'],
    [
      ['source=x', 'seed=1'],
      'pipeline "p" has no parameter "seed": known parameters are source, epochs, rate, shuffle',
    ],
  ])('refuses %j', (flags, message) => {
    expect(() => resolveRunParams(spec, parseParamFlags(flags))).toThrow(message);
  });

  it('fills defaults into typed values started from code, and refuses a missing required one', () => {
    expect(withParamDefaults(spec, { source: 'a.csv' })).toEqual({
      source: 'a.csv',
      epochs: 10,
      rate: 0.1,
      shuffle: true,
    });
    expect(() => withParamDefaults(spec, {})).toThrow('pipeline "p" needs parameter "source" (string)');
  });

  it('refuses a flag without =', () => {
    expect(() => parseParamFlags(['source'])).toThrow('--param "source" is not of the form name=value');
  });

  it('resolves $param references deep inside step params', () => {
    expect(resolveParamRefs(spec.steps[0]!.params, { source: 's.csv', epochs: 3 })).toEqual({
      file: 's.csv',
      nested: [3],
    });
  });
});
