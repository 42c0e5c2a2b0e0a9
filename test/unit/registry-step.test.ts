import { describe, expect, it } from 'vitest';
import { lineageFromInputs, registerModelStep } from '../../activities/registry.js';
import { parseVersion } from '../../cli/actions/registry.js';
import { DependencyUnavailableError, InvalidInputError } from '../../pipelines/errors.js';
import type { JsonValue } from '../../pipelines/json.js';
import type { StepInput } from '../../pipelines/step.js';

const sha = (c: string) => c.repeat(64);
const modelRef = (c: string) => ({
  uri: `file:///a/${c}.json`,
  sha256: sha(c),
  kind: 'model',
  format: 'json',
  bytes: 10,
});
const at = '2026-11-24T10:00:00.000Z';

function step(
  inputs: Record<string, JsonValue>,
  params: Record<string, JsonValue> = { model: 'churn' },
): StepInput {
  return {
    run: { pipeline: 'churn', workflowId: 'churn-run-1', runId: 'r-1', trigger: 'manual' },
    step: 'register',
    params,
    runParams: {},
    inputs,
  };
}

const train = {
  model: modelRef('a'),
  metrics: { validationLoss: 0.4 },
  dataset: { sha256: sha('d'), uri: 'x' },
};
const evaluate = {
  model: modelRef('a'),
  metrics: { auc: { value: 0.71, lo: 0.69, hi: 0.73 } },
  blessing: { blessed: true, reasons: [] },
};
const approve = {
  approved: true,
  decisions: [
    { approver: 'ann', decision: 'approve', at, comment: null, modelVersion: 'aaaa', channel: 'update' },
    { approver: 'ben', decision: 'maybe', at },
  ],
};

describe('registerModel step: lineage from the needed steps', () => {
  it('takes the model, the evaluation metrics, the gate decisions and dataset hashes', () => {
    const found = lineageFromInputs(step({ train, evaluate, approve }), { model: 'churn' });
    expect(found).toEqual({
      model: modelRef('a'),
      metrics: { auc: { value: 0.71, lo: 0.69, hi: 0.73 } },
      approvals: [
        { approver: 'ann', decision: 'approve', at, comment: null, modelVersion: 'aaaa', channel: 'update' },
      ],
      dataSha256s: [sha('d')],
    });
  });

  it('falls back to the model step’s metrics, and honours metricsFrom / approvalsFrom', () => {
    expect(lineageFromInputs(step({ train }), { model: 'churn' }).metrics).toEqual({ validationLoss: 0.4 });
    const picked = lineageFromInputs(step({ train, evaluate, approve }), {
      model: 'churn',
      metricsFrom: 'train',
      approvalsFrom: 'train',
    });
    expect(picked.metrics).toEqual({ validationLoss: 0.4 });
    expect(picked.approvals).toEqual([]);
  });

  it('refuses no model, two different models without modelFrom, and a From naming a step it does not need', () => {
    expect(() => lineageFromInputs(step({ approve }), { model: 'churn' })).toThrow(
      'step "register" needs a model: depend on a step that outputs { model } (trainModel or evaluateModel)',
    );
    const other = { ...train, model: modelRef('b') };
    expect(() => lineageFromInputs(step({ train, other }), { model: 'churn' })).toThrow(
      'step "register": steps train, other carry different models; pick one with params.modelFrom',
    );
    expect(lineageFromInputs(step({ train, other }), { model: 'churn', modelFrom: 'other' }).model).toEqual(
      modelRef('b'),
    );
    expect(() => lineageFromInputs(step({ train }), { model: 'churn', metricsFrom: 'evaluate' })).toThrow(
      InvalidInputError,
    );
  });

  it('fails with DependencyUnavailableError when the worker gave it no Temporal client', async () => {
    const error = await registerModelStep({ home: '/nowhere' }, step({ train })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toBe(
      'step "register" (registerModel) has no Temporal client to reach the registry of model "churn": run it on a worker started by `sluice worker` or `sluice dev`, which provide one',
    );
    const bad = await registerModelStep({ home: '/nowhere' }, step({ train }, { model: 'no spaces' })).catch(
      (e: unknown) => e,
    );
    expect(bad).toBeInstanceOf(InvalidInputError);
  });
});

describe('sluice promote version argument', () => {
  it('accepts 3 and v3, refuses anything else with an example', () => {
    expect(parseVersion('churn', '3')).toBe(3);
    expect(parseVersion('churn', 'v12')).toBe(12);
    expect(() => parseVersion('churn', '0')).toThrow(/version "0" of model churn is not a version number/);
    expect(() => parseVersion('churn', 'latest')).toThrow(
      'e.g. `sluice promote churn 3 --as <you> --reason "<why>"`',
    );
  });
});
