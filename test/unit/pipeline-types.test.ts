import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { builtinStepNames } from '../../pipelines/builtin-steps.js';
import { definePipeline } from '../../pipelines/define.js';
import type { DeployConfig } from '../../pipelines/deploy.js';
import { mlLifecycle, type LifecycleConfig } from '../../pipelines/lifecycle.js';
import type { ActivityStepConfig } from '../../pipelines/pipeline-config.js';
import type { ParamRef } from '../../pipelines/refs.js';
import type { TrainerUse } from '../../pipelines/define-trainer.js';
import { builtinStepParams, type BuiltinStepParams } from '../../pipelines/step-params.js';
import type { splitSchema, trainerSchema, TrainerModel } from '../../pipelines/train-spec.js';

/**
 * What a pipeline file is allowed to say, as types: each field of `mlLifecycle` and each built-in
 * step's params is typed by its zod schema, with `{ $param }` where a run parameter can stand. The
 * files that must not compile are in test/types/bad (pipeline-type-errors.test.ts).
 */
type Params<A extends keyof typeof builtinStepParams> = NonNullable<ActivityStepConfig<A>['params']>;
/** `train` as a built-in trainer's config (it may also be a trainer of your own, `myTrainer.use(…)`). */
type BuiltinTrain = Exclude<LifecycleConfig['train'], TrainerUse>;

describe('mlLifecycle fields are typed by the schemas of the steps they feed', () => {
  it('train.model is the trainers the schema lists, or a run parameter', () => {
    expectTypeOf<BuiltinTrain['model']>().toEqualTypeOf<TrainerModel | ParamRef>();
    expectTypeOf<{ model: 'logisitc' }>().not.toExtend<BuiltinTrain>();
    // A misspelt key: not a key of the type (an object literal with it is an excess-property error).
    expectTypeOf<'lerningRate'>().not.toExtend<keyof BuiltinTrain>();
    expectTypeOf<{ model: 'logistic'; learningRate: 'fast' }>().not.toExtend<BuiltinTrain>();
    expectTypeOf<{ model: 'mlp'; epochs: ParamRef; layers: [64, 32] }>().toExtend<BuiltinTrain>();
  });

  it('a new field in a schema is a new field of the config, with no second list to update', () => {
    type TrainKeys = keyof BuiltinTrain;
    expectTypeOf<TrainKeys>().toEqualTypeOf<keyof z.input<typeof trainerSchema>>();
    expectTypeOf<keyof LifecycleConfig['split']>().toEqualTypeOf<keyof z.input<typeof splitSchema>>();
  });

  it('{ $param } stands for a string, number or boolean, not for an object or a list', () => {
    expectTypeOf<{ kind: 'hash'; key: ParamRef; test: ParamRef }>().toExtend<LifecycleConfig['split']>();
    expectTypeOf<ParamRef>().not.toExtend<LifecycleConfig['split']>();
    expectTypeOf<ParamRef>().not.toExtend<LifecycleConfig['features']>();
    expectTypeOf<{ numeric: ParamRef }>().not.toExtend<LifecycleConfig['features']>();
    expectTypeOf<{ numeric: [ParamRef, { name: 'hour'; sql: ParamRef }] }>().toExtend<
      LifecycleConfig['features']
    >();
    // Not step params: the id, the source file (the `source` run parameter's default), the approvers.
    expectTypeOf<LifecycleConfig['id']>().toEqualTypeOf<string>();
    expectTypeOf<LifecycleConfig['source']['uri']>().toEqualTypeOf<string>();
    expectTypeOf<{ approvers: [ParamRef] }>().not.toExtend<LifecycleConfig['approval']>();
  });

  it('evaluate, approval and deploy are typed too', () => {
    expectTypeOf<{ slices: ['origin']; threshold: 0.4 }>().toExtend<
      NonNullable<LifecycleConfig['evaluate']>
    >();
    expectTypeOf<'treshold'>().not.toExtend<keyof NonNullable<LifecycleConfig['evaluate']>>();
    expectTypeOf<'quorom'>().not.toExtend<keyof LifecycleConfig['approval']>();
    expectTypeOf<{ approvers: ['role:risk']; quorum: 'two' }>().not.toExtend<LifecycleConfig['approval']>();
    expectTypeOf<NonNullable<LifecycleConfig['deploy']>>().toEqualTypeOf<DeployConfig>();
  });
});

describe('definePipeline types the params of steps that name a built-in activity', () => {
  it('params of a built-in step come from its schema', () => {
    expectTypeOf<Params<'ingestDataset'>['format']>().toEqualTypeOf<
      'csv' | 'tsv' | 'parquet' | 'arrow' | 'json' | 'ndjson' | ParamRef | undefined
    >();
    expectTypeOf<'fromat'>().not.toExtend<keyof Params<'ingestDataset'>>();
    expectTypeOf<{ threshold: 'high' }>().not.toExtend<Params<'evaluateModel'>>();
    expectTypeOf<BuiltinStepParams<'trainModel'>['trainer']>().toEqualTypeOf<z.input<typeof trainerSchema>>();
  });

  it("a user's step (any other activity name) keeps open JSON params", () => {
    expectTypeOf<{ anything: [1, 'two'] }>().toExtend<
      NonNullable<ActivityStepConfig<'joinIslands'>['params']>
    >();
  });

  it('a typed pipeline with run parameters, a user step and built-in steps compiles and runs the same checks', () => {
    const spec = definePipeline({
      id: 'typed',
      params: { source: { type: 'string', default: 'data/flights.parquet' }, epochs: { type: 'integer' } },
      steps: [
        {
          id: 'ingest',
          activity: 'ingestDataset',
          params: { source: { $param: 'source' }, format: 'parquet' },
        },
        {
          id: 'islands',
          activity: 'joinIslands',
          needs: ['ingest'],
          params: { islands: 'data/islands.csv' },
        },
        {
          id: 'train',
          activity: 'trainModel',
          needs: ['islands'],
          queue: 'train',
          params: {
            features: { numeric: ['distance'] },
            label: { sql: 'delay > 15', task: 'binary' },
            split: { kind: 'hash', key: 'id' },
            trainer: { model: 'logistic', epochs: { $param: 'epochs' } },
          },
        },
      ],
    });
    expect(spec.steps.map((step) => step.activity)).toEqual(['ingestDataset', 'joinIslands', 'trainModel']);
  });

  it('every activity the worker registers has a params schema, and no schema names an activity it lacks', () => {
    expect(Object.keys(builtinStepParams).sort()).toEqual([...builtinStepNames].sort());
  });
});

describe('mlLifecycle accepts the documented shape', () => {
  it('a config with run parameters in step fields compiles and defines a pipeline', () => {
    const config = {
      id: 'typed-lifecycle',
      source: { uri: 'data/flights.parquet', format: 'parquet' },
      features: { numeric: ['distance', { name: 'hour', sql: 'hour(date)' }], categorical: ['origin'] },
      label: { sql: 'delay > 15', task: 'binary' },
      split: { kind: 'hash', key: 'id', test: { $param: 'test' } },
      train: { model: 'logistic', epochs: { $param: 'epochs' } },
      evaluate: { slices: ['origin'], bless: { auc: { min: 0.55 } } },
      approval: { approvers: ['role:risk'] },
      params: { epochs: { type: 'integer', default: 8 }, test: { type: 'number', default: 0.2 } },
    } satisfies LifecycleConfig;
    expect(mlLifecycle(config).steps.find((step) => step.id === 'train')?.params['trainer']).toEqual({
      model: 'logistic',
      epochs: { $param: 'epochs' },
    });
  });
});
