import { definePipeline } from '../../pipelines/define.js';

/** A small DAG of no-op steps, a fan-out and a join: what 200 concurrent runs are made of. */
export const smallPipeline = definePipeline({
  id: 'load-small',
  steps: [
    { id: 'a', activity: 'noop' },
    { id: 'b', activity: 'noop', needs: ['a'] },
    { id: 'c', activity: 'noop', needs: ['a'] },
    { id: 'd', activity: 'noop', needs: ['b', 'c'] },
  ],
});

/** Who may approve {@link gatedPipeline} (written to the bench's roles file) and who starts its runs. */
export const approver = 'load-approver';
export const starter = 'load-bench';
export const roles = { risk: [approver] };

/**
 * A no-op step, then an approval gate on it, then a no-op step: a run that waits at its gate without
 * training anything. The gate's subject is the first step's output (null), so the model version an
 * approval must carry is that output's digest; the bench reads it from each run's status, as
 * `sluice approve` does.
 */
export const gatedPipeline = definePipeline({
  id: 'load-gate',
  steps: [
    { id: 'prepare', activity: 'noop' },
    { id: 'approve', needs: ['prepare'], approval: { approvers: ['role:risk'] } },
    { id: 'finish', activity: 'noop', needs: ['approve'] },
  ],
});
