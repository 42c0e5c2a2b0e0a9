import { z } from 'zod';
import { durationPattern } from './duration.js';

const duration = z.string().regex(durationPattern, 'a duration such as 2s, 15m or 1h');

/** How a candidate reaches production. */
export const deployStrategies = ['direct', 'canary', 'shadow'] as const;
export type DeployStrategy = (typeof deployStrategies)[number];

/**
 * A `deploy` step: infra validation first, then the strategy. Every field but the strategy has a
 * default, so `deploy: { strategy: 'direct' }` is a whole spec. The thresholds are the deploy's policy:
 * the workflow decides with them, so the decision and its numbers land in history.
 */
export const deploySchema = z.strictObject({
  strategy: z
    .enum(deployStrategies)
    .describe(
      '`direct` promotes after infra validation; `canary` sends `percent` of requests to the candidate; `shadow` scores in parallel without serving it.',
    ),
  /** Canary: the share of requests serving sends to the candidate (`sluice serve --canary`). */
  percent: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(10)
    .describe('Canary: the share of requests serving sends to the candidate (`sluice serve --canary`).'),
  /** Canary / shadow: the durable observation window before the comparison. */
  observe: duration
    .default('15m')
    .describe('Canary / shadow: the durable observation window before the comparison.'),
  stages: z
    .array(
      z.strictObject({
        percent: z.number().int().min(1).max(100).describe('The canary share during this stage.'),
        observe: duration.describe("This stage's observation window."),
      }),
    )
    .min(1)
    .max(10)
    .optional()
    .describe(
      'Canary: a staged rollout (e.g. 10 % → 50 % → 100 %), each stage observed and compared before the next; replaces `percent` and `observe`. Shares must rise.',
    ),
  steer: z
    .boolean()
    .default(true)
    .describe(
      "Canary / shadow: the deploy sets the candidate's traffic in the registry, which every `sluice serve` replica applies on its next poll, and sets it back to none on rollback. `false`: the operator routes with `sluice serve --canary` / `--shadow`.",
    ),
  /**
   * Canary / shadow: the Prometheus `/metrics` endpoints of the serving replicas. When given, the
   * window's request errors and p95 latency per version come from them (read at the window's start and
   * end) and are compared too; the prediction log alone cannot see latency or refused requests.
   */
  metricsUrls: z
    .array(z.string().url())
    .default([])
    .describe(
      "Canary / shadow: the Prometheus `/metrics` endpoints of the serving replicas. When given, the window's request errors and p95 latency per version come from them (read at the window's start and end) and are compared too; the prediction log alone cannot see latency or refused requests.",
    ),
  /** Infra validation: the candidate is loaded and scores this many rows of its own test split… */
  infra: z
    .strictObject({
      sampleRows: z
        .number()
        .int()
        .min(1)
        .max(10_000)
        .default(200)
        .describe('Rows of its own test split the candidate scores, one per call.'),
      /** …one row per call, as serving does; the p95 of those calls must stay within this budget. */
      maxP95Ms: z
        .number()
        .positive()
        .default(50)
        .describe('…one row per call, as serving does; the p95 of those calls must stay within this budget.'),
    })
    .default({ sampleRows: 200, maxP95Ms: 50 })
    .describe(
      'Infra validation: the candidate is loaded and must score within a latency budget before any traffic.',
    ),
  /** Canary / shadow: what the candidate's window must show, against production's, to be promoted. */
  thresholds: z
    .strictObject({
      /**
       * Fewest candidate predictions in the window for the comparison to count. PSI over 10 bins drifts
       * upward by about 9·(1/n₁ + 1/n₂) from sampling alone, so small windows would roll back good models.
       */
      minPredictions: z
        .number()
        .int()
        .min(1)
        .default(200)
        .describe(
          'Fewest candidate predictions in the window for the comparison to count. PSI over 10 bins drifts upward by about 9·(1/n₁ + 1/n₂) from sampling alone, so small windows would roll back good models.',
        ),
      /** Largest share of the candidate's predictions that may be errors (a non-finite score). */
      maxErrorRate: z
        .number()
        .min(0)
        .max(1)
        .default(0.01)
        .describe("Largest share of the candidate's predictions that may be errors (a non-finite score)."),
      /** Largest PSI between the candidate's and production's score distributions in the window. */
      maxPsi: z
        .number()
        .positive()
        .default(0.2)
        .describe("Largest PSI between the candidate's and production's score distributions in the window."),
      /** Largest candidate p95 latency as a multiple of production's (needs `metricsUrls`). */
      maxLatencyRatio: z
        .number()
        .min(1)
        .default(1.5)
        .describe("Largest candidate p95 latency as a multiple of production's (needs `metricsUrls`)."),
    })
    .default({ minPredictions: 200, maxErrorRate: 0.01, maxPsi: 0.2, maxLatencyRatio: 1.5 })
    .describe(
      "Canary / shadow: what the candidate's window must show, against production's, to be promoted.",
    ),
});

/** Why a deploy's `stages` cannot be walked, or `undefined` when they can (or there are none). */
export function deployStagesProblem(spec: DeploySpec): string | undefined {
  if (!spec.stages) return undefined;
  if (spec.strategy !== 'canary') {
    return `stages are a canary rollout; strategy "${spec.strategy}" takes \`observe\` only: remove stages or use strategy "canary"`;
  }
  for (let i = 1; i < spec.stages.length; i++) {
    const [before, now] = [spec.stages[i - 1]!.percent, spec.stages[i]!.percent];
    if (now <= before) {
      return `stages[${i}].percent is ${now}, not more than stages[${i - 1}]'s ${before}: each stage must send the candidate more traffic`;
    }
  }
  return undefined;
}

/** What a pipeline author writes in a `deploy` step. */
export type DeployConfig = z.input<typeof deploySchema>;
/** A `deploy` step with every default filled in. */
export type DeploySpec = z.output<typeof deploySchema>;
