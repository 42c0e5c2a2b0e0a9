import type { ArtifactRef } from '../../pipelines/artifact.js';
import {
  lowerIsBetter,
  type BlessReason,
  type Blessing,
  type MetricName,
} from '../../pipelines/evaluation.js';
import type { ModelManifest } from '../../pipelines/model.js';
import type { EvaluationReport } from '../evaluate/evaluate-core.js';
import { describeDropped, splitSubject } from '../train/dropped-rows.js';
import { metricWords, num, pct, sqlWords } from './metric-words.js';
import { cardImportance, type CardImportance } from './importance-words.js';
import { cardCalibration, type CardCalibration } from './calibration-card.js';

/** What the pipeline says the model is for: from the spec, in the owner's words. */
export interface CardIntent {
  title: string;
  purpose: string;
  intendedUse: string;
  limitations: string[];
  owner: string;
  pipeline: string;
  run: { workflowId: string; runId: string };
}

/** The model card as data (the JSON twin of the HTML): everything an approver is shown. */
export interface ModelCardData extends CardIntent {
  format: 'sluice-model-card/1';
  verdict: { blessed: boolean; summary: string; checks: (BlessReason & { plain: string })[] };
  model: {
    ref: ArtifactRef;
    task: string;
    description: string;
    engine: string;
    backend: string;
    seed: number;
    hyperparameters: Record<string, unknown>;
    libraries: Record<string, string>;
    training: { bestEpoch: number; epochsRun: number; stoppedEarly: boolean };
  };
  outcome: { definition: string; classes: string[] };
  data: {
    dataset: { uri: string; sha256: string; bytes: number };
    rows: { train: number; validation: number; test: number };
    /** Source rows training left out, in words (no label, no split); null when none or not counted. */
    leftOut: string | null;
    evaluatedOn: { split: string; rows: number; sha256: string };
    features: { name: string; kind: 'number' | 'category'; summary: string }[];
  };
  metrics: {
    name: MetricName;
    label: string;
    value: number | null;
    lo: number | null;
    hi: number | null;
    explanation: string;
    production: number | null;
    change: string | null;
  }[];
  evaluation: ArtifactRef;
  /** What drives the model (mean |exact contribution| per feature); null for older evaluations. */
  importance: CardImportance | null;
  /** Binary models with a calibration: ECE before and after it, in numbers and words. */
  calibration?: CardCalibration;
}

const taskWords = {
  binary: 'a yes/no prediction with a probability',
  multiclass: 'a choice among several classes, with a probability for each',
  regression: 'a number',
} as const;

/** Assemble the card from the model's manifest and its evaluation (plus the blessing). */
export function buildCardData(
  intent: CardIntent,
  modelRef: ArtifactRef,
  manifest: ModelManifest,
  report: EvaluationReport,
  blessing: Blessing,
  evaluation: ArtifactRef,
): ModelCardData {
  const { metadata, transform } = manifest;
  const label = sqlWords(metadata.label.sql);
  const outcome = metadata.task === 'binary' ? `“${label}” is true` : `“${label}”`;
  const failed = blessing.reasons.filter((r) => !r.passed);
  const { hyperparameters: h } = metadata;
  const built =
    h.model === 'gbdt'
      ? `an ensemble of ${metadata.trees?.trees ?? '?'} gradient-boosted decision trees (${metadata.trees?.leaves ?? '?'} leaves in all, at most ${h.numLeaves} per tree)`
      : h.model === 'mlp'
        ? `a small neural network (layers ${h.layers.join(' → ')})`
        : `a ${h.model} regression`;
  // A user's trainer (`defineTrainer`) fitted the weights: say so, and which built-in model it scores like.
  const own = metadata.trainer;
  const model = own === undefined ? built : `${built} fitted by your trainer “${own.name}” (${own.module})`;
  return {
    format: 'sluice-model-card/1',
    ...intent,
    verdict: {
      blessed: blessing.blessed,
      summary: blessing.blessed
        ? `Meets all ${blessing.reasons.length} requirements set for it.`
        : `Fails ${failed.length} of ${blessing.reasons.length} requirements set for it.`,
      checks: blessing.reasons.map((r) => ({ ...r, plain: plainRequirement(r) })),
    },
    model: {
      ref: modelRef,
      task: metadata.task,
      description: `${model} that gives ${taskWords[metadata.task]}`,
      engine: own === undefined ? metadata.engine : `custom (${own.name})`,
      backend: metadata.backend.name,
      seed: metadata.seed,
      hyperparameters:
        own === undefined
          ? usedSettings(metadata.hyperparameters)
          : {
              trainer: own.name,
              ...own.params,
              seed: h.seed,
              classWeight: h.classWeight,
              calibration: h.calibration,
            },
      libraries: { ...metadata.libraries },
      training: {
        bestEpoch: metadata.training.bestEpoch,
        epochsRun: metadata.training.epochsRun,
        stoppedEarly: metadata.training.stoppedEarly,
      },
    },
    outcome: { definition: label, classes: metadata.label.classes },
    data: {
      dataset: metadata.data.dataset,
      rows: metadata.data.rows,
      leftOut:
        metadata.data.dropped === undefined
          ? null
          : (describeDropped(metadata.data.dropped, {
              data: 'the training data',
              label: metadata.label.sql,
              split: splitSubject(metadata.data.split),
              task: metadata.task,
            }) ?? null),
      evaluatedOn: { split: report.dataset.split, rows: report.rows, sha256: report.dataset.sha256 },
      features: [
        ...transform.numeric.map((f) => ({
          name: f.name,
          kind: 'number' as const,
          summary: `average ${num(f.mean)}, spread ±${num(f.std)}; ${f.missingRate > 0 ? `${pct(f.missingRate)} missing, filled in` : 'never missing'}`,
        })),
        ...transform.categorical.map((f) => ({
          name: f.name,
          kind: 'category' as const,
          summary:
            f.encoding === 'one-hot'
              ? `${f.vocabulary.length} most common values kept (${f.vocabulary.slice(0, 5).join(', ')}${f.vocabulary.length > 5 ? ', …' : ''}); the rest grouped as “other”`
              : `${f.distinct.toLocaleString('en')} different values, hashed into ${f.buckets} groups`,
        })),
      ],
    },
    metrics: (
      Object.entries(report.metrics) as [
        MetricName,
        { value: number | null; lo: number | null; hi: number | null },
      ][]
    ).map(([name, estimate]) => {
      const production = report.production?.metrics[name]?.value ?? null;
      const delta = report.production?.delta[name]?.value ?? null;
      const better = delta === null ? null : lowerIsBetter.has(name) ? delta < 0 : delta > 0;
      return {
        name,
        label: metricWords[name].label,
        ...estimate,
        explanation:
          estimate.value === null
            ? 'Not defined on this evaluation set.'
            : metricWords[name].explain(estimate.value, outcome, metadata.task),
        production,
        change:
          delta === null
            ? null
            : delta === 0
              ? 'no change'
              : `${better ? 'better' : 'worse'} by ${num(Math.abs(delta))}`,
      };
    }),
    evaluation,
    importance: cardImportance(
      report.importance,
      metadata.task === 'binary' ? `whether “${label}”` : `“${label}”`,
    ),
    ...(report.calibration ? { calibration: cardCalibration(report.calibration) } : {}),
  };
}

const fairnessWords: Record<string, string> = {
  demographicParityDifference: 'Gap in how often groups get a "yes"',
  demographicParityRatio: 'Ratio of the lowest to the highest group "yes" rate',
  equalizedOddsDifference: 'Gap between groups in cases caught or false alarms',
};

/** A blessing check in words, e.g. "Ranking quality (ROC-AUC) must be at least 0.6: it is 0.644." */
export function plainRequirement(reason: BlessReason): string {
  const match = /^(\w+)(?: across (.+?)| on (.+?))?(?: (vs production|min|max))$/.exec(reason.check);
  if (!match) return reason.message;
  const [, name = '', across, on, kind] = match;
  const label = metricWords[name as MetricName]?.label ?? fairnessWords[name] ?? name;
  const scope = across ? ` across ${across}` : on ? ` for ${on.replace('=', ' = ')}` : '';
  const observed = reason.observed === null ? 'not available' : num(reason.observed);
  const threshold = reason.threshold === null ? '' : num(reason.threshold);
  if (kind === 'vs production') {
    if (reason.observed === null) return reason.message;
    const wanted =
      reason.threshold !== null && reason.threshold > 0
        ? `better than production by at least ${threshold}`
        : 'no worse than production';
    return `${label} must be ${wanted}: the change is ${reason.observed >= 0 ? '+' : ''}${observed}.`;
  }
  return `${label}${scope} must be at ${kind === 'min' ? 'least' : 'most'} ${threshold}: it is ${observed}.`;
}

/** Settings of an MLP that a linear model does not have: the card lists only what shaped this model. */
const mlpOnly = ['layers', 'dropout', 'activation'] as const;

/** The trainer settings that apply to this model (the schema fills MLP defaults in for every dense model). */
function usedSettings(h: ModelManifest['metadata']['hyperparameters']): Record<string, unknown> {
  if (h.model === 'mlp' || h.model === 'gbdt') return { ...h };
  const settings: Record<string, unknown> = { ...h };
  for (const key of mlpOnly) delete settings[key];
  return settings;
}
