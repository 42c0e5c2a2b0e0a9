// The workflow bundle's entry point: every workflow type the worker serves.
export { dagWorkflow, statusQuery } from './dag.js';
export { searchWorkflow } from './search.js';
export { deployWorkflow } from './deploy.js';
export type { DagInput, DagStatus, StepStatus, StepState, RunState } from './dag.js';
export {
  registryWorkflow,
  registerVersionUpdate,
  promoteUpdate,
  rollbackUpdate,
  describeQuery,
  historyQuery,
} from './registry.js';
export { monitorWorkflow } from './monitor.js';
