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
  strategy: z.enum(deployStrategies),
  /** Canary: the share of requests serving sends to the candidate (`sluice serve --canary`). */
  percent: z.number().int().min(1).max(50).default(10),
  /** Canary / shadow: the durable observation window before the comparison. */
  observe: duration.default('15m'),
  /** Infra validation: the candidate is loaded and scores this many rows of its own test split… */
  infra: z
    .strictObject({
      sampleRows: z.number().int().min(1).max(10_000).default(200),
      /** …one row per call, as serving does; the p95 of those calls must stay within this budget. */
      maxP95Ms: z.number().positive().default(50),
    })
    .default({ sampleRows: 200, maxP95Ms: 50 }),
  /** Canary / shadow: what the candidate's window must show, against production's, to be promoted. */
  thresholds: z
    .strictObject({
      /** Fewest candidate predictions in the window for the comparison to count. */
      minPredictions: z.number().int().min(1).default(50),
      /** Largest share of the candidate's predictions that may be errors (a non-finite score). */
      maxErrorRate: z.number().min(0).max(1).default(0.01),
      /** Largest PSI between the candidate's and production's score distributions in the window. */
      maxPsi: z.number().positive().default(0.2),
    })
    .default({ minPredictions: 50, maxErrorRate: 0.01, maxPsi: 0.2 }),
});

/** What a pipeline author writes in a `deploy` step. */
export type DeployConfig = z.input<typeof deploySchema>;
/** A `deploy` step with every default filled in. */
export type DeploySpec = z.output<typeof deploySchema>;
