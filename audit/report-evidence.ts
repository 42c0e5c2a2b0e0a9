import { mono, nowrap, tone, type Block } from './report-blocks.js';
import { describeContent, estimate, inline, num, size } from './report-format.js';
import type { MetricReport, RunReport } from './report-types.js';

/** Plain names for the metrics an evaluation reports, so a reader need not know the abbreviations. */
const metricNames: Record<string, string> = {
  auc: 'ROC AUC (ranking quality, 0.5 = chance)',
  prAuc: 'PR AUC (precision–recall)',
  logLoss: 'log loss (lower is better)',
  accuracy: 'accuracy',
  precision: 'precision',
  recall: 'recall',
  f1: 'F1',
  brier: 'Brier score (lower is better)',
  ece: 'calibration error (lower is better)',
  rmse: 'RMSE (lower is better)',
  mae: 'MAE (lower is better)',
  r2: 'R²',
  demographicParityDifference: 'demographic parity difference',
  demographicParityRatio: 'demographic parity ratio',
  equalizedOddsDifference: 'equalized odds difference',
};

const metricName = (name: string) => metricNames[name] ?? name;

/** Datasets by content hash, the contract they were held to, and what validation found. */
export function dataBlocks(run: RunReport): Block[] {
  const { data } = run;
  const blocks: Block[] = [{ kind: 'heading', level: 3, text: 'Data: what was read and checked' }];
  blocks.push({
    kind: 'table',
    head: ['Step', 'What, and where', 'sha256', 'Rows', 'Columns', 'Size'],
    rows: data.datasets.map((d) => [
      d.step,
      `${d.what}\n${d.location}`,
      mono(d.sha256),
      d.rows === null ? '—' : String(d.rows),
      d.columns === null ? '—' : String(d.columns),
      nowrap(size(d.bytes)),
    ]),
    empty: 'No step read a dataset.',
  });
  for (const contract of data.contracts) {
    blocks.push({ kind: 'paragraph', text: `Data contract checked by step "${contract.step}":` });
    blocks.push({
      kind: 'table',
      head: ['Column', 'Rules'],
      rows: contract.rules.map((r) => [r.column, r.rules]),
      empty: 'The contract has no rules.',
    });
  }
  for (const v of data.validations) {
    blocks.push({
      kind: 'callout',
      tone: v.passed ? 'good' : 'bad',
      title: `Validation (step "${v.step}") ${v.passed ? 'passed' : 'failed'}:`,
      text: `${v.checks ?? '?'} checks, ${v.errors} error${v.errors === 1 ? '' : 's'}, ${v.warnings} warning${v.warnings === 1 ? '' : 's'}.`,
    });
    if (v.anomalies.length > 0) {
      blocks.push({
        kind: 'table',
        head: ['Column', 'Check', 'Expected', 'Observed', 'Severity'],
        rows: v.anomalies.map((a) => [
          a.column,
          a.check,
          a.expected,
          a.observed,
          tone(a.severity, a.severity === 'error' ? 'bad' : 'warn'),
        ]),
        empty: '',
      });
      if (v.omitted > 0)
        blocks.push({
          kind: 'paragraph',
          text: `…and ${v.omitted} more anomalies in the stored validation artifact.`,
        });
    }
  }
  for (const d of data.drift) {
    blocks.push({
      kind: 'callout',
      tone: d.drifted > 0 ? 'warn' : 'good',
      title: `Drift (step "${d.step}"):`,
      text: `${d.drifted} of ${d.features} features drifted.`,
    });
    blocks.push({
      kind: 'table',
      head: ['Feature', 'Verdict', 'PSI'],
      rows: d.verdicts.map((f) => [
        f.column,
        tone(f.verdict, f.verdict === 'ok' ? 'good' : 'warn'),
        num(f.psi),
      ]),
      empty: '',
    });
  }
  return blocks;
}

/** Rows training left out, with the reasons, or why the report cannot say. */
function leftOut(m: RunReport['models'][number]): string {
  if (m.dropped === null) return 'not recorded (trained before Sluice counted them)';
  const n = (key: string) => (typeof m.dropped?.[key] === 'number' ? m.dropped[key] : 0);
  const total = n('noSplit') + n('missingLabel') + n('unusableLabel');
  if (total === 0) return `none of ${n('source')}`;
  return `${total} of ${n('source')}: ${n('missingLabel')} with no label, ${n('unusableLabel')} with an unusable label, ${n('noSplit')} in no split`;
}

/** The model by content hash, how it was trained, and the search that chose it. */
export function modelBlocks(run: RunReport): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 3, text: 'The model' }];
  if (run.models.length === 0) {
    blocks.push({ kind: 'paragraph', text: 'No model was trained in this run.' });
    return blocks;
  }
  for (const m of run.models) {
    blocks.push({
      kind: 'facts',
      rows: [
        ['Trained by step', m.step],
        ['Model (sha256 of its manifest)', mono(m.sha256)],
        ['Task', m.task ?? '—'],
        ['Trainer and backend', `${m.engine ?? '—'} on ${m.backend ?? '—'}`],
        ['Random seed', inline(m.seed)],
        [
          'Rows (train / validation / test)',
          ['train', 'validation', 'test'].map((k) => inline(m.rows[k])).join(' / '),
        ],
        ['Source rows left out', leftOut(m)],
        [
          'Training',
          Object.entries(m.training)
            .map(([k, v]) => `${k} ${typeof v === 'number' ? num(v) : inline(v)}`)
            .join(', ') || '—',
        ],
        [
          'Resumed from a checkpoint',
          m.resumedFromEpoch === null ? 'no' : `yes, after epoch ${m.resumedFromEpoch}`,
        ],
        ['Hyperparameters', describeContent(m.hyperparameters, 600)],
      ],
    });
    for (const warning of m.warnings) {
      blocks.push({ kind: 'paragraph', text: `Step ${m.step} warned: ${warning}.` });
    }
    if (m.search) {
      blocks.push({ kind: 'paragraph', text: `Hyperparameter search: ${m.search.reason}.` });
      blocks.push({
        kind: 'table',
        head: ['Trial', 'Values tried', 'Outcome', 'Score', 'Chosen'],
        rows: m.search.trials.map((t) => [
          t.id,
          describeContent(t.values),
          t.state,
          num(t.value),
          t.id === m.search?.best ? tone('chosen', 'good') : '',
        ]),
        empty: 'The search ran no trials.',
      });
    }
  }
  return blocks;
}

/** Metrics with their 95% intervals, the comparison with production, fairness, and the blessing. */
export function evaluationBlocks(run: RunReport): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 3, text: 'Evaluation' }];
  if (run.evaluations.length === 0) {
    blocks.push({ kind: 'paragraph', text: 'No model was evaluated in this run.' });
    return blocks;
  }
  for (const e of run.evaluations) {
    blocks.push({
      kind: 'callout',
      tone: e.blessed ? 'good' : 'bad',
      title: e.blessed ? 'Blessed:' : 'Not blessed:',
      text: `step "${e.step}" evaluated model ${e.model?.slice(0, 16) ?? '?'} on ${e.rows ?? '?'} held-out rows (decision threshold ${num(e.threshold)}).`,
    });
    blocks.push({
      kind: 'table',
      head: ['Check', 'Result', 'Detail'],
      rows: e.reasons.map((r) => [
        r.check,
        tone(r.passed ? 'met' : 'not met', r.passed ? 'good' : 'bad'),
        r.message,
      ]),
      empty: 'The blessing recorded no checks.',
    });
    blocks.push({
      kind: 'table',
      head: ['Metric', 'Value'],
      rows: metricRows(e.metrics),
      empty: 'No metrics.',
    });
    if (e.production) {
      blocks.push({
        kind: 'paragraph',
        text: `Compared on the same rows with the production model ${e.production.model?.slice(0, 16) ?? '?'} (candidate minus production):`,
      });
      blocks.push({
        kind: 'table',
        head: ['Metric', 'Difference'],
        rows: metricRows(e.production.delta),
        empty: '',
      });
    }
    for (const f of e.fairness) {
      blocks.push({ kind: 'paragraph', text: `Fairness across groups of ${f.column}:` });
      blocks.push({ kind: 'table', head: ['Measure', 'Value'], rows: metricRows(f.summary), empty: '' });
    }
  }
  return blocks;
}

function metricRows(metrics: MetricReport[]): [string, string][] {
  return metrics.map((m) => [metricName(m.name), estimate(m.value, m.lo, m.hi)]);
}
