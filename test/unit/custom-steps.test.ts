import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkStepActivities } from '../../client/step-check.js';
import { defineStep } from '../../index.js';
import { definePipeline } from '../../pipelines/define.js';
import { loadConfig } from '../../lib/config.js';
import { loadStepModules } from '../../pipelines/step-modules.js';
import { projectRoot } from '../support/paths.js';

const load = (...modules: string[]) => loadStepModules(modules, projectRoot);

describe('step modules', () => {
  it('loads the steps a module exports, with its code hash', async () => {
    const steps = await load('test/fixtures/steps/twice-a.ts');
    expect([...steps.keys()]).toEqual(['scoreRows']);
    expect(steps.get('scoreRows')).toMatchObject({
      module: 'test/fixtures/steps/twice-a.ts',
      codeSha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
      definition: { queue: 'scoring' },
    });
  });

  it('refuses, naming the module, the step and the fix: a built-in name, a name used twice, no steps, an import failure, a missing file', async () => {
    await expect(load('test/fixtures/steps/collides.ts')).rejects.toThrow(
      'step module test/fixtures/steps/collides.ts: step "ingestDataset" has the name of a built-in Sluice step: rename it',
    );
    await expect(load('test/fixtures/steps/twice-a.ts', 'test/fixtures/steps/twice-b.ts')).rejects.toThrow(
      'step module test/fixtures/steps/twice-b.ts: step "scoreRows" is also defined in test/fixtures/steps/twice-a.ts',
    );
    await expect(load('test/fixtures/steps/no-steps.ts')).rejects.toThrow(
      'step module test/fixtures/steps/no-steps.ts exports no step: export the result of defineStep',
    );
    await expect(load('test/fixtures/steps/broken.ts')).rejects.toThrow(
      'step module test/fixtures/steps/broken.ts failed to import: missing config file steps.json',
    );
    await expect(load('test/fixtures/steps/nowhere.ts')).rejects.toThrow(
      'step module test/fixtures/steps/nowhere.ts does not exist',
    );
  });

  it('defineStep refuses a name a pipeline could not name', () => {
    expect(() =>
      defineStep({ name: 'join-airports', params: z.object({}), run: () => Promise.resolve(null) }),
    ).toThrow('defineStep: name "join-airports" must be letters and digits');
  });

  it('SLUICE_STEPS takes modules separated by commas or the path delimiter', () => {
    const config = loadConfig({ SLUICE_STEPS: 'a.ts,b.ts:c.ts' }, '/project');
    expect(config.steps).toEqual(['/project/a.ts', '/project/b.ts', '/project/c.ts']);
  });
});

describe('checking a pipeline’s own steps before a run', () => {
  const pipeline = (step: Record<string, unknown>) =>
    definePipeline({
      id: 'scored',
      params: { threshold: { type: 'number', default: 0.5 } },
      steps: [{ id: 'score', activity: 'scoreRows', ...step }],
    });

  it('checks params against the step’s schema, $param resolved, naming the step and the zod issue', async () => {
    const steps = await load('test/fixtures/steps/twice-a.ts');
    const ok = checkStepActivities(pipeline({ params: { threshold: { $param: 'threshold' } } }), steps, {
      threshold: 0.5,
    });
    expect(ok).toEqual({ scoreRows: steps.get('scoreRows')!.codeSha256 });
    expect(() =>
      checkStepActivities(pipeline({ params: { threshold: { $param: 'threshold' } } }), steps, {
        threshold: 7,
      }),
    ).toThrow(
      /^step "score" \(scoreRows from test\/fixtures\/steps\/twice-a\.ts\): params\.threshold: Too big: expected number to be <=1/,
    );
  });

  it('a step nobody loaded here: refused on Sluice’s pools, accepted on a queue of its own', () => {
    expect(() => checkStepActivities(pipeline({}), new Map(), {})).toThrow(
      'names activity "scoreRows", which Sluice does not register and no step module loaded here defines',
    );
    expect(checkStepActivities(pipeline({ queue: 'scoring-py' }), new Map(), {})).toEqual({});
  });

  it('a loaded step on a queue it is not served on is refused with the queue to use', async () => {
    const steps = await load('test/fixtures/steps/twice-a.ts');
    expect(() =>
      checkStepActivities(pipeline({ queue: 'elsewhere', params: { threshold: 0.1 } }), steps, {}),
    ).toThrow('set the step\'s queue to "scoring" or "orchestration"');
  });
});
