import { z } from 'zod';

/**
 * Drift and skew between a reference dataset (what a model trained on) and a current one (new data,
 * or the serving log) — issue 3, item 6. The options are plain JSON (a step's params or CLI flags);
 * the report is a `drift` artifact with one verdict per feature. Sandbox-safe: a monitor workflow can
 * read verdicts and decide to retrain.
 */

/**
 * When a feature counts as drifted. Defaults:
 * - `psi` 0.2 — the usual "significant shift" line for the population stability index;
 * - `js` 0.1 — Jensen–Shannon *distance* (base 2, so 0…1);
 * - `ksPValue` 0.01 together with `ksStatistic` 0.1 — the two-sample Kolmogorov–Smirnov test must be
 *   significant AND the largest CDF gap at least 0.1. With millions of rows every negligible shift is
 *   significant; the effect-size floor keeps KS from crying wolf. Set `ksStatistic: 0` for the pure test.
 * Any one crossed line makes the verdict `drift`.
 */
export const driftThresholdsSchema = z.strictObject({
  psi: z
    .number()
    .positive()
    .default(0.2)
    .describe('Population stability index above which a feature drifted.'),
  js: z
    .number()
    .positive()
    .max(1)
    .default(0.1)
    .describe('Jensen–Shannon distance above which a feature drifted.'),
  ksPValue: z
    .number()
    .min(0)
    .max(1)
    .default(0.01)
    .describe('Numeric features: KS p-value below which the shift is significant…'),
  ksStatistic: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe('…and the smallest KS statistic (largest CDF gap) that counts as drift.'),
});
export type DriftThresholds = z.output<typeof driftThresholdsSchema>;

export const driftOptionsSchema = z.strictObject({
  /** Features to compare; default every shared numeric, string and boolean column (dates only if named). */
  columns: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe(
      'Features to compare; default every shared numeric, string and boolean column (dates only if named).',
    ),
  /** Thresholds for every feature… */
  thresholds: driftThresholdsSchema
    .default({ psi: 0.2, js: 0.1, ksPValue: 0.01, ksStatistic: 0.1 })
    .describe('Thresholds for every feature…'),
  /** …and per feature, overriding them. */
  perColumn: z
    .record(z.string().min(1), driftThresholdsSchema.partial())
    .default({})
    .describe('…and per feature, overriding them.'),
  /** Numeric features are binned on this many reference quantiles (deciles by default). */
  bins: z
    .number()
    .int()
    .min(2)
    .max(100)
    .default(10)
    .describe('Numeric features are binned on this many reference quantiles (deciles by default).'),
  /** Categorical features keep the reference's most frequent values; the rest pool as `(other)`. */
  categories: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(20)
    .describe("Categorical features keep the reference's most frequent values; the rest pool as `(other)`."),
});
export type DriftOptionsInput = z.input<typeof driftOptionsSchema>;
export type DriftOptions = z.output<typeof driftOptionsSchema>;

export type DriftVerdict = 'ok' | 'drift';

export interface DriftReport {
  format: 'sluice.drift/v1';
  reference: DriftSide;
  current: DriftSide;
  features: FeatureDrift[];
  /** Features with verdict `drift`. */
  drifted: number;
  /** Columns that could not be compared, and why (missing on one side, no values…). */
  skipped: { column: string; reason: string }[];
  /** Schema skew: columns present on one side only, or whose type changed. */
  schema: {
    onlyInReference: string[];
    onlyInCurrent: string[];
    typeChanged: { column: string; reference: string; current: string }[];
  };
  method: {
    /** Bin proportions below this are raised to it in PSI, so an empty bin does not give ∞. */
    psiEpsilon: number;
    numericBins: string;
    jsLogBase: 2;
    ks: string;
  };
}

export interface DriftSide {
  name: string;
  sha256?: string;
  rows: number;
}

/** What was measured for one feature: the statistics, no verdict (the verdict is {@link judgeDrift}'s). */
export interface FeatureStatistics {
  column: string;
  psi: number;
  js: number;
  /** Numeric features only. */
  ks?: { statistic: number; pValue: number };
}

/** A feature's verdict against its thresholds, with the crossed lines in words (`psi 0.31 > 0.2`). */
export interface DriftJudgement {
  verdict: DriftVerdict;
  reasons: string[];
}

/** The thresholds for every feature with one feature's own overrides on top. */
export function thresholdsFor(
  thresholds: DriftThresholds,
  perColumn: Readonly<Record<string, { [K in keyof DriftThresholds]?: number | undefined } | undefined>>,
  column: string,
): DriftThresholds {
  const own = Object.entries(perColumn[column] ?? {}).filter(([, value]) => value !== undefined);
  return { ...thresholds, ...(Object.fromEntries(own) as Partial<DriftThresholds>) };
}

/**
 * Whether a feature drifted: any crossed line makes the verdict `drift`. Pure and sandbox-safe, so the
 * monitor workflow applies the thresholds itself and a replay re-derives every verdict from the
 * recorded statistics (docs/architecture.md decision 4); the data-plane report (`sluice drift`, the `detectDrift`
 * step) words its verdicts with the same function.
 */
export function judgeDrift(stats: FeatureStatistics, thresholds: DriftThresholds): DriftJudgement {
  const reasons: string[] = [];
  if (stats.psi > thresholds.psi) reasons.push(`psi ${stats.psi.toFixed(3)} > ${thresholds.psi}`);
  if (stats.js > thresholds.js) reasons.push(`js ${stats.js.toFixed(3)} > ${thresholds.js}`);
  if (stats.ks && stats.ks.pValue < thresholds.ksPValue && stats.ks.statistic >= thresholds.ksStatistic) {
    reasons.push(
      `ks ${stats.ks.statistic.toFixed(3)} (p ${stats.ks.pValue.toExponential(1)}) >= ${thresholds.ksStatistic}`,
    );
  }
  return { verdict: reasons.length > 0 ? 'drift' : 'ok', reasons };
}

export interface FeatureDrift {
  column: string;
  kind: 'numeric' | 'categorical';
  verdict: DriftVerdict;
  /** Which thresholds were crossed, e.g. `psi 0.31 > 0.2`. */
  reasons: string[];
  psi: number;
  js: number;
  /** Numeric features only. */
  ks?: { statistic: number; pValue: number };
  thresholds: DriftThresholds;
  /** The bins the metrics were computed on, as shares of each side's rows. */
  bins: { label: string; reference: number; current: number }[];
}
