import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { builtinStepNames } from '../../pipelines/builtin-steps.js';

describe('the built-in step names the control plane checks specs against', () => {
  it('are exactly the step activities a worker registers', () => {
    const registered = Object.keys(createActivities({ home: '/nonexistent', dataRoots: [] })).sort();
    expect([...builtinStepNames].sort()).toEqual(registered);
  });
});
