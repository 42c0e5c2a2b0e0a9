import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { localStepNames } from '../../client/step-check.js';
import { defineStep } from '../../index.js';
import { builtinStepNames } from '../../pipelines/builtin-steps.js';
import { definePipeline } from '../../pipelines/define.js';
import { localBuiltinSteps, runsLocally } from '../../pipelines/local-steps.js';
import type { LoadedSteps } from '../../pipelines/step-modules.js';

const lookup = defineStep({
  name: 'lookupRate',
  params: z.object({}),
  local: true,
  run: () => Promise.resolve({ rate: 1 }),
});
const heavy = defineStep({ name: 'joinRows', params: z.object({}), run: () => Promise.resolve(null) });
const loaded: LoadedSteps = new Map([
  ['lookupRate', { definition: lookup, module: 'steps.ts', codeSha256: 'a'.repeat(64) }],
  ['joinRows', { definition: heavy, module: 'steps.ts', codeSha256: 'b'.repeat(64) }],
]);

describe('which steps run as local activities', () => {
  const spec = definePipeline({
    id: 'light',
    steps: [
      { id: 'start', activity: 'noop' },
      { id: 'ingest', activity: 'ingestDataset', params: { source: 'x.csv' }, needs: ['start'] },
      { id: 'rate', activity: 'lookupRate', needs: ['start'] },
      { id: 'join', activity: 'joinRows', needs: ['rate'] },
      { id: 'remote', activity: 'noop', local: false, needs: ['join'] },
      { id: 'forced', activity: 'joinRows', local: true, needs: ['join'] },
      { id: 'elsewhere', activity: 'noop', queue: 'train', needs: ['join'] },
      { id: 'gate', approval: { approvers: ['role:risk'] }, needs: ['join'] },
    ],
  });
  const local = localStepNames(spec, loaded);
  const byId = Object.fromEntries(spec.steps.map((step) => [step.id, runsLocally(step, local)]));

  it('light built-ins and user steps defined with local: true do; data steps, gates and other queues do not', () => {
    expect(local).toEqual(['lookupRate']);
    expect(byId).toEqual({
      start: true,
      ingest: false,
      rate: true,
      join: false,
      remote: false,
      forced: true,
      elsewhere: false,
      gate: false,
    });
  });

  it('names only built-in steps that exist', () => {
    for (const name of localBuiltinSteps) expect(builtinStepNames).toContain(name);
  });

  it('defineStep leaves local off unless asked', () => {
    expect(lookup.local).toBe(true);
    expect(heavy.local).toBe(false);
  });

  it('refuses local: true off the orchestration queue, naming the fix', () => {
    expect(() =>
      definePipeline({
        id: 'bad',
        steps: [{ id: 'train', activity: 'trainModel', queue: 'train', local: true }],
      }),
    ).toThrow(/local: true runs an activity step where the workflow runs, on the orchestration queue/);
  });
});
