import { describe, expect, it } from 'vitest';
import { oneMachineBound, projectWorkers } from '../../bench/scale/model.js';

const costs = { workerCpuMs: 2000, serverCpuMs: 500, slotMs: 8000, trainSlotMs: 500, aloneMs: 9000 };
const shape = { coresPerWorker: 2, slotsPerWorker: 8, trainSlotsPerWorker: 1 };

describe('the scale bench capacity model', () => {
  it('adds workers linearly, bound by the worker cores when a run needs more CPU than slot time allows', () => {
    const [one, four] = projectWorkers(costs, shape, [1, 4]);
    // 2 cores ÷ 2 s CPU = 1 run/s; 8 slots ÷ 8 s = 1 run/s: a tie counts as the cores.
    expect(one).toMatchObject({ workers: 1, runsPerS: 1, bound: 'worker cores', serverCores: 0.5 });
    expect(four).toMatchObject({ workers: 4, runsPerS: 4, serverCores: 2, latencyFloorMs: 9000 });
  });

  it('is bound by the activity slots when runs mostly wait on I/O', () => {
    const [p] = projectWorkers({ ...costs, slotMs: 32_000 }, shape, [3]);
    expect(p).toMatchObject({ bound: 'activity slots', runsPerS: 0.75, cpuBoundRunsPerS: 3 });
  });

  it('is bound by the training slots when training is the long step (one slot per worker by default)', () => {
    const [one, three] = projectWorkers({ ...costs, trainSlotMs: 4000 }, shape, [1, 3]);
    expect(one).toMatchObject({ bound: 'training slots', runsPerS: 0.25 });
    expect(three).toMatchObject({ bound: 'training slots', runsPerS: 0.75, trainBoundRunsPerS: 0.75 });
  });

  it('on one shared machine the worker count does not matter: cores ÷ (worker + service CPU per run)', () => {
    expect(oneMachineBound(costs, 2)).toBeCloseTo(0.8);
  });
});
