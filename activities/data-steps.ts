import type { ArtifactLocation } from '../lib/artifacts/location.js';
import type { ArtifactProducer, ArtifactRef } from '../pipelines/artifact.js';
import { parseContract } from '../pipelines/contract.js';
import { driftOptionsSchema } from '../pipelines/drift.js';
import { InvalidInputError } from '../pipelines/errors.js';
import type { JsonObject, JsonValue } from '../pipelines/json.js';
import type { DatasetStatistics } from '../pipelines/statistics.js';
import type { StepActivity, StepInput } from '../pipelines/step.js';
import { anomalyCap } from '../pipelines/validation.js';
import { createArtifactStore, type ArtifactStorage } from '../lib/artifacts/index.js';
import { stepActivity } from './boundary.js';
import { fromInputs, isArtifactRef, resolveDataset, type ResolvedDataset } from './data-inputs.js';
import { detectDrift } from './drift/detect-drift.js';
import { driftMarkdown } from './drift/render-drift.js';
import { computeStatistics } from './statistics/compute-statistics.js';
import { statisticsHtml } from './statistics/render-html.js';
import { statisticsMarkdown } from './statistics/render-markdown.js';
import { validate } from './validation/validate-dataset.js';

/** What the data steps need from the composition root. */
export interface DataStepDeps {
  home: string;
  /** `SLUICE_ARTIFACTS`: where the artifact store is; absent: `<home>/artifacts`. */
  artifacts?: ArtifactLocation | undefined;
  dataRoots: readonly string[];
}

/**
 * The data-plane step activities (issue 3): statistics, contract validation and drift. Each reads its
 * data by reference, stores what it computes as artifacts, and returns small JSON (refs, counts, capped
 * anomalies or verdicts) — never rows.
 */
export function createDataActivities(deps: DataStepDeps) {
  const store = createArtifactStore(deps.home, deps.artifacts);
  const dataset = (value: unknown, what: string): Promise<ResolvedDataset> =>
    resolveDataset(value, { store, dataRoots: deps.dataRoots, what });

  return {
    /**
     * Statistics of a dataset, stored as JSON with Markdown and HTML reports. Params: `dataset` (ref,
     * sha256 or path) or, by default, the `dataset` of a dependency (`datasetFrom: <step>` to choose).
     */
    computeStatistics: stepActivity(async (input) => {
      const value = datasetParam(input);
      const data = await dataset(value, `step "${input.step}" dataset`);
      const stored = await storeStatistics(store, data, producer(input));
      return { dataset: value, ...stored.output };
    }),

    /**
     * Check a dataset against `params.contract` (inline in the spec, validated here). Uses the
     * statistics of a dependency when there are some (else computes them). A broken contract in the
     * data is a result with `errorCount > 0`, not a failure: the workflow decides the gate.
     */
    validateDataset: stepActivity(async (input) => {
      const { params, inputs, step } = input;
      const contract = parseContract(params['contract'], `step "${step}" params.contract`);
      const value = datasetParam(input);
      const data = await dataset(value, `step "${step}" dataset`);
      const statsValue =
        params['statistics'] ?? fromInputs(inputs, 'statistics', params['statisticsFrom'], `step "${step}"`);
      let statistics: DatasetStatistics;
      let statisticsRef: ArtifactRef;
      if (isArtifactRef(statsValue)) {
        statisticsRef = statsValue;
        statistics = (await store.readJson(statsValue)) as unknown as DatasetStatistics;
      } else {
        const stored = await storeStatistics(store, data, producer(input));
        statistics = stored.statistics;
        statisticsRef = stored.ref;
      }
      const result = await validate(contract, statistics, data.path, {
        referenceTime: referenceTime(params['referenceTime'], step),
      });
      const ref = await store.putJson(json(result), { kind: 'validation', producer: producer(input) });
      return {
        dataset: value,
        statistics: json(statisticsRef),
        validation: json(ref),
        passed: result.passed,
        errorCount: result.errorCount,
        warningCount: result.warningCount,
        checks: result.checks,
        anomalies: json(result.anomalies.slice(0, anomalyCap)),
        anomaliesOmitted: Math.max(0, result.anomalies.length - anomalyCap),
      };
    }),

    /**
     * Drift of `current` against `reference` (each a ref, sha256 or path, or `referenceFrom` /
     * `currentFrom` naming a dependency with a `dataset`), with optional `columns`, `thresholds`,
     * `perColumn`, `bins`, `categories`. Stores the report as JSON and Markdown.
     */
    detectDrift: stepActivity(async (input) => {
      const { params, inputs, step } = input;
      const side = async (name: 'reference' | 'current'): Promise<ResolvedDataset> => {
        const value =
          params[name] ?? fromInputs(inputs, 'dataset', params[`${name}From`], `step "${step}" ${name}`);
        if (value === undefined) {
          throw new InvalidInputError(
            `step "${step}" needs params.${name} (a dataset) or params.${name}From (a step)`,
          );
        }
        return dataset(value, `step "${step}" ${name}`);
      };
      const reference = await side('reference');
      const current = await side('current');
      const { reference: _r, current: _c, referenceFrom: _rf, currentFrom: _cf, ...rest } = params;
      const parsed = driftOptionsSchema.safeParse(rest);
      if (!parsed.success) {
        const issues = parsed.error.issues.map(
          (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
        );
        throw new InvalidInputError(`step "${step}" drift options are invalid: ${issues.join('; ')}`, {
          details: { issues },
        });
      }
      const report = await detectDrift(reference, current, parsed.data);
      const ref = await store.putJson(json(report), { kind: 'drift', producer: producer(input) });
      const markdown = await store.putBytes(Buffer.from(driftMarkdown(report)), {
        kind: 'report',
        format: 'md',
        producer: producer(input),
      });
      return {
        drift: json(ref),
        report: json(markdown),
        drifted: report.drifted,
        features: report.features.length,
        verdicts: report.features.slice(0, anomalyCap).map((f) => ({
          column: f.column,
          verdict: f.verdict,
          psi: f.psi,
          js: f.js,
          ...(f.ks ? { ks: f.ks.statistic, ksPValue: f.ks.pValue } : {}),
        })),
      };
    }),
  } satisfies Record<string, StepActivity>;
}

/**
 * Compute statistics of a resolved dataset and store them with their reports; shared by the
 * `computeStatistics` step, `validateDataset` (when no statistics came in) and `sluice stats`.
 */
export async function storeStatistics(
  store: ArtifactStorage,
  data: ResolvedDataset,
  by?: ArtifactProducer,
): Promise<{ statistics: DatasetStatistics; ref: ArtifactRef; output: JsonObject }> {
  const { statistics, timings } = await computeStatistics(data.path, {
    name: data.name,
    sha256: data.sha256,
  });
  const meta = by ? { producer: by } : {};
  const ref = await store.putJson(json(statistics), { kind: 'statistics', ...meta });
  const markdown = await store.putBytes(Buffer.from(statisticsMarkdown(statistics)), {
    kind: 'report',
    format: 'md',
    ...meta,
  });
  const html = await store.putBytes(Buffer.from(statisticsHtml(statistics)), {
    kind: 'report',
    format: 'html',
    ...meta,
  });
  return {
    statistics,
    ref,
    output: {
      statistics: json(ref),
      report: { markdown: json(markdown), html: json(html) },
      rows: statistics.rows,
      columns: statistics.columns.length,
      passes: statistics.method.passes,
      timingsMs: {
        firstPass: Math.round(timings.firstPassMs),
        secondPass: Math.round(timings.secondPassMs),
      },
    },
  };
}

/** The dataset a step names: `params.dataset`, else the `dataset` of a dependency. */
function datasetParam({ params, inputs, step }: StepInput): JsonValue {
  const value = params['dataset'] ?? fromInputs(inputs, 'dataset', params['datasetFrom'], `step "${step}"`);
  if (value === undefined) {
    throw new InvalidInputError(
      `step "${step}" has no dataset: set params.dataset (a path, sha256 or ref) or depend on a step whose output has "dataset" (e.g. ingest)`,
    );
  }
  return value;
}

function producer({ run, step }: StepInput): ArtifactProducer {
  return { workflowId: run.workflowId, runId: run.runId, step };
}

function referenceTime(value: JsonValue | undefined, step: string): number {
  if (value === undefined || value === null) return Date.now();
  const parsed = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(parsed)) {
    throw new InvalidInputError(
      `step "${step}" params.referenceTime must be an ISO-8601 time, e.g. 2024-05-01T00:00:00Z`,
    );
  }
  return parsed;
}

/**
 * Our result types (statistics, validation, drift, refs) are JSON by construction — no Dates, Maps or
 * classes — but are declared as interfaces, which TypeScript will not widen to `JsonValue` by itself.
 */
export function json(value: object): JsonValue {
  return value as JsonValue;
}
