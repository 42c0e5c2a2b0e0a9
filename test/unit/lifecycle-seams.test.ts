import { describe, expect, it } from 'vitest';
import { flightsLifecycle } from '../integration/fixtures/lifecycle.js';

describe('mlLifecycle with your own steps at its seams', () => {
  const spec = flightsLifecycle('seams', {
    prepare: [
      {
        id: 'airports',
        activity: 'joinAirports',
        params: { airports: 'node_modules/vega-datasets/data/airports.csv' },
        cache: true,
      },
      { id: 'holidays', activity: 'addHolidays', params: { from: 'airports' }, queue: 'python-features' },
    ],
    checks: [{ id: 'bias-review', activity: 'reviewBias', params: { maxGap: 0.1 } }],
  });
  const step = (id: string) => spec.steps.find((s) => s.id === id)!;

  it('feature steps run in order after validation, and training reads the last one’s dataset', () => {
    expect(step('airports')).toMatchObject({
      activity: 'joinAirports',
      needs: ['ingest', 'validate'],
      cache: true,
    });
    expect(step('holidays')).toMatchObject({ needs: ['airports'], queue: 'python-features' });
    expect(step('train')).toMatchObject({ needs: ['holidays'], params: { input: 'holidays' } });
  });

  it('checks run after evaluation, and the approval gate waits for them', () => {
    expect(step('bias-review')).toMatchObject({ activity: 'reviewBias', needs: ['train', 'evaluate'] });
    expect(step('approve').needs).toEqual(['evaluate', 'card', 'bias-review']);
  });

  it('without them, the lifecycle is unchanged', () => {
    const plain = flightsLifecycle('plain');
    expect(plain.steps.find((s) => s.id === 'train')).toMatchObject({
      needs: ['ingest', 'validate'],
      params: { input: 'ingest' },
    });
    expect(plain.steps.find((s) => s.id === 'approve')!.needs).toEqual(['evaluate', 'card']);
  });
});
