import { buildPipeline } from '../../pipelines/define.js';
import type { PipelineSpec } from '../../pipelines/spec.js';
import { flightsLifecycle } from '../../test/integration/fixtures/lifecycle.js';

export const scalePipelineId = 'scale-lifecycle';

/** The lifecycle steps a scale run executes: everything before the approval gate. */
export const stepsBeforeGate = ['ingest', 'stats', 'validate', 'train', 'production', 'evaluate', 'card'];

/**
 * The flights lifecycle the cluster tests run (ingest → stats → validate → train (logistic, 3 epochs)
 * → production → evaluate → card), ending before its approval gate so that it runs to completion
 * without a person. Each run reads its own 1-in-100 hash partition of the 3M flights (about 30k
 * rows), so no run is served from another's step cache or deduplicated in the store: every run does
 * the same amount of work on different bytes.
 */
export function scaleLifecycle(partition: number): PipelineSpec {
  const full = flightsLifecycle(scalePipelineId, {
    model: scalePipelineId,
    source: {
      uri: 'node_modules/vega-datasets/data/flights-3m.parquet',
      sql: `select date, delay, distance, origin, destination from source where hash(date, origin, destination) % 100 = ${partition}`,
    },
  });
  const steps = full.steps.filter((step) => stepsBeforeGate.includes(step.id));
  if (steps.length !== stepsBeforeGate.length) {
    const missing = stepsBeforeGate.filter((id) => !steps.some((step) => step.id === id));
    throw new Error(
      `scale bench: the flights lifecycle has no step ${missing.join(', ')}; update stepsBeforeGate`,
    );
  }
  return buildPipeline({ ...full, steps });
}
