import type { JsonObject, JsonValue } from '../pipelines/json.js';
import { count, field, flag, isArtifactRef, isObject, list, object, text } from './json-read.js';
import type {
  ArtifactReport,
  DataReport,
  EvaluationReport,
  MetricReport,
  ModelReport,
  RegistrationReport,
} from './report-types.js';

/** What one step was asked (its spec params) and what it returned, as history recorded them. */
export interface StepOutput {
  id: string;
  activity: string;
  params: JsonObject;
  output: JsonValue | undefined;
}

/**
 * Data lineage from the steps' outputs: the files read and the snapshots made (with their content
 * hashes), the contracts checked, the validation verdicts with their anomalies, and drift verdicts.
 * Read by activity name, since that is what fixes an output's shape.
 */
export function dataEvidence(steps: readonly StepOutput[]): DataReport {
  const data: DataReport = { datasets: [], contracts: [], validations: [], drift: [] };
  for (const { id, activity, params, output } of steps) {
    switch (activity) {
      case 'profileDataset': {
        const sha256 = text(field(output, 'sha256'));
        if (sha256) {
          data.datasets.push({
            step: id,
            what: 'source file (profiled)',
            location: text(field(output, 'source')) ?? text(field(output, 'path')) ?? '',
            sha256,
            bytes: count(field(output, 'bytes')),
            rows: count(field(output, 'rows')),
            columns: list(field(output, 'columns')).length || null,
          });
        }
        break;
      }
      case 'ingestDataset': {
        const source = field(output, 'source');
        const sourceSha = text(field(source, 'sha256'));
        if (sourceSha) {
          data.datasets.push({
            step: id,
            what: 'source file',
            location: text(field(source, 'path')) ?? text(field(source, 'uri')) ?? '',
            sha256: sourceSha,
            bytes: count(field(source, 'bytes')),
            rows: null,
            columns: null,
          });
        }
        const snapshot = field(output, 'dataset');
        if (isArtifactRef(snapshot)) {
          const sql = text(params['sql']);
          data.datasets.push({
            step: id,
            what: sql ? `snapshot (Parquet), after: ${sql}` : 'snapshot (Parquet)',
            location: snapshot.uri,
            sha256: snapshot.sha256,
            bytes: count(snapshot['bytes']),
            rows: count(snapshot['rows']),
            columns: list(snapshot['schema']).length || null,
          });
        }
        break;
      }
      case 'validateDataset': {
        const contract = params['contract'];
        if (isObject(contract)) data.contracts.push({ step: id, rules: contractRules(contract) });
        if (isObject(output)) {
          data.validations.push({
            step: id,
            passed: flag(output['passed']) ?? false,
            errors: count(output['errorCount']) ?? 0,
            warnings: count(output['warningCount']) ?? 0,
            checks: count(output['checks']),
            anomalies: list(output['anomalies'])
              .filter(isObject)
              .map((a) => ({
                column: text(a['column']) ?? '(dataset)',
                check: text(a['check']) ?? '',
                expected: scalar(a['expected']),
                observed: scalar(a['observed']),
                severity: text(a['severity']) ?? '',
              })),
            omitted: count(output['anomaliesOmitted']) ?? 0,
          });
        }
        break;
      }
      case 'detectDrift':
        if (isObject(output)) {
          data.drift.push({
            step: id,
            drifted: count(output['drifted']) ?? 0,
            features: count(output['features']) ?? 0,
            verdicts: list(output['verdicts'])
              .filter(isObject)
              .map((v) => ({
                column: text(v['column']) ?? '',
                verdict: text(v['verdict']) ?? '',
                psi: count(v['psi']),
              })),
          });
        }
        break;
      default:
        break;
    }
  }
  return data;
}

/** Contract columns as `column: rule; rule` lines an auditor can read without the DSL. */
function contractRules(contract: JsonObject): { column: string; rules: string }[] {
  const rows = Object.entries(object(contract['columns'])).map(([column, rule]) => ({
    column,
    rules: Object.entries(object(rule))
      .map(([key, value]) => describeRule(key, value))
      .join('; '),
  }));
  for (const [key, value] of Object.entries(contract)) {
    if (key !== 'columns') rows.push({ column: '(dataset)', rules: describeRule(key, value) });
  }
  return rows;
}

function describeRule(key: string, value: JsonValue): string {
  if (key === 'nullable' && value === false) return 'no nulls';
  if (key === 'rows' && isObject(value)) {
    return Object.entries(value)
      .map(([bound, n]) => `${bound} ${scalar(n)} rows`)
      .join(', ');
  }
  return `${key} ${scalar(value)}`;
}

/** Sluice's training step, or a user's trainer (`defineTrainer`: its own activity name, engine `custom`). */
function isTrainingStep(step: StepOutput): boolean {
  return step.activity === 'trainModel' || field(step.output, 'engine') === 'custom';
}

/** Models trained (or picked by a search), with everything needed to reproduce them. */
export function modelEvidence(steps: readonly StepOutput[]): ModelReport[] {
  return steps
    .filter((s) => isTrainingStep(s) && isArtifactRef(field(s.output, 'model')))
    .map(({ id, output }) => {
      const hyperparameters = object(field(output, 'hyperparameters'));
      const search = field(output, 'search');
      return {
        step: id,
        sha256: text(field(field(output, 'model'), 'sha256')) ?? '',
        task: text(field(output, 'task')),
        engine: text(field(output, 'engine')),
        backend: text(field(output, 'backend')),
        seed: hyperparameters['seed'] ?? null,
        hyperparameters,
        rows: object(field(output, 'rows')),
        dropped: isObject(field(output, 'dropped')) ? object(field(output, 'dropped')) : null,
        warnings: list(field(output, 'warnings'))
          .map((w) => text(w))
          .filter((w): w is string => w !== null),
        training: object(field(output, 'metrics')),
        resumedFromEpoch: count(field(output, 'resumedFromEpoch')),
        search: isObject(search)
          ? {
              trials: list(search['trials'])
                .filter(isObject)
                .map((t) => ({
                  id: text(t['id']) ?? '',
                  values: object(t['values']),
                  state: text(t['state']) ?? '',
                  value: count(t['value']),
                })),
              best: text(search['best']),
              reason: text(search['reason']) ?? '',
            }
          : null,
      };
    });
}

/** Evaluations: metrics with their 95% intervals, the production comparison, fairness, blessing. */
export function evaluationEvidence(steps: readonly StepOutput[]): EvaluationReport[] {
  return steps
    .filter((s) => s.activity === 'evaluateModel' && isObject(s.output))
    .map(({ id, output }) => {
      const production = field(output, 'production');
      const blessing = object(field(output, 'blessing'));
      return {
        step: id,
        model: text(field(field(output, 'model'), 'sha256')),
        rows: count(field(output, 'rows')),
        threshold: count(field(output, 'threshold')),
        metrics: metrics(field(output, 'metrics')),
        production: isObject(production)
          ? {
              model: text(field(production['model'], 'sha256')),
              metrics: metrics(production['metrics']),
              delta: metrics(production['delta']),
            }
          : null,
        fairness: list(field(output, 'fairness'))
          .filter(isObject)
          .map((f) => ({
            column: text(f['column']) ?? '',
            summary: metrics(f['summary']),
            groups: list(f['groups']).filter(isObject),
          })),
        blessed: flag(blessing['blessed']),
        reasons: list(blessing['reasons'])
          .filter(isObject)
          .map((r) => ({
            check: text(r['check']) ?? '',
            passed: flag(r['passed']) ?? false,
            message: text(r['message']) ?? text(r['check']) ?? '',
          })),
      };
    });
}

function metrics(value: JsonValue | undefined): MetricReport[] {
  return Object.entries(object(value)).map(([name, estimate]) => ({
    name,
    value: count(field(estimate, 'value')),
    lo: count(field(estimate, 'lo')),
    hi: count(field(estimate, 'hi')),
  }));
}

/** Versions the run registered in the model registry. */
export function registrationEvidence(steps: readonly StepOutput[]): RegistrationReport[] {
  return steps
    .filter((s) => s.activity === 'registerModel' && text(field(s.output, 'model')) !== null)
    .map(({ id, output }) => ({
      step: id,
      model: text(field(output, 'model')) ?? '',
      version: count(field(output, 'version')),
      created: flag(field(output, 'created')),
      modelSha256: text(field(field(output, 'modelRef'), 'sha256')),
    }));
}

/**
 * Every artifact the steps returned a reference to, once each, with the step that first returned it.
 * `present` comes from the artifact store when one was consulted: the report links what is still
 * there and stays complete (hashes, sizes, kinds) when it is gone.
 */
export function artifactEvidence(
  steps: readonly StepOutput[],
  present: ReadonlyMap<string, boolean> | null,
): ArtifactReport[] {
  const found = new Map<string, ArtifactReport>();
  const walk = (value: JsonValue | undefined, step: string): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, step);
      return;
    }
    if (!isObject(value)) return;
    if (isArtifactRef(value) && typeof value['kind'] === 'string' && !found.has(value.sha256)) {
      found.set(value.sha256, {
        sha256: value.sha256,
        kind: text(value['kind']) ?? '',
        format: text(value['format']) ?? '',
        bytes: count(value['bytes']),
        step,
        uri: value.uri,
        present: present ? (present.get(value.sha256) ?? false) : null,
      });
    }
    for (const child of Object.values(value)) walk(child, step);
  };
  for (const { id, output } of steps) walk(output, id);
  return [...found.values()];
}

function scalar(value: JsonValue | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}
