/**
 * The step activities every Sluice worker registers (`createActivities` in activities/index.ts), by
 * name. Kept here, free of imports, so the control plane can check a spec before starting it without
 * loading DuckDB or TF.js; a unit test holds it equal to what the worker really registers.
 */
export const builtinStepNames = [
  'profileDataset',
  'ingestDataset',
  'writeRunSummary',
  'trainModel',
  'evaluateModel',
  'registerModel',
  'renderModelCard',
  'productionModel',
  'noop',
  'computeStatistics',
  'validateDataset',
  'detectDrift',
] as const;

export type BuiltinStepName = (typeof builtinStepNames)[number];
