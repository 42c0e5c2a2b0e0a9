import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';
import type { FairnessReport, GroupRow } from '../../pipelines/evaluation.js';
import type { EvaluationReport } from '../evaluate/evaluate-core.js';
import { calibrationChart } from './calibration-card.js';

/** One chart of the card: a title, a sentence saying how to read it, and the SVG (or why it is missing). */
export interface Chart {
  id: string;
  title: string;
  caption: string;
  svg: string | null;
  error?: string;
}

const WIDTH = 320;
const MEASURES = ['Predicted yes', 'True cases caught (TPR)', 'False alarms (FPR)'];
const HEIGHT = 240;
const BLUE = '#2f6fde';
const GREY = '#9aa3ad';
const config = {
  font: 'Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eceff3' },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom' },
  view: { stroke: null },
} as const;

/** A reliability curve's axes: predicted probability against observed frequency, both 0–1. */
export const reliabilityAxes = {
  x: {
    field: 'predicted',
    type: 'quantitative' as const,
    title: 'Predicted probability',
    scale: { domain: [0, 1] },
  },
  y: {
    field: 'observed',
    type: 'quantitative' as const,
    title: 'Observed frequency',
    scale: { domain: [0, 1] },
  },
};

/** Vega-Lite specs for every chart the evaluation supports, in reading order. */
export function chartSpecs(
  report: EvaluationReport,
  history: { epoch: number; trainLoss: number; validationLoss: number }[],
): (Omit<Chart, 'svg'> & { spec: TopLevelSpec })[] {
  const charts: (Omit<Chart, 'svg'> & { spec: TopLevelSpec })[] = [];
  const { details, production } = report;
  if (details.roc) {
    const values = [
      ...details.roc.map((p) => ({ ...p, model: 'this model' })),
      ...(production?.details.roc ?? []).map((p) => ({ ...p, model: 'production' })),
    ];
    charts.push({
      id: 'roc',
      title: 'ROC curve',
      caption:
        'Each point trades catching more true cases (up) against more false alarms (right). Curves closer to the top-left corner are better; the dashed diagonal is guessing.',
      spec: layered(values, 'fpr', 'False-positive rate', 'tpr', 'True-positive rate', true),
    });
  }
  if (details.pr) {
    const values = [
      ...details.pr.map((p) => ({ ...p, model: 'this model' })),
      ...(production?.details.pr ?? []).map((p) => ({ ...p, model: 'production' })),
    ];
    charts.push({
      id: 'pr',
      title: 'Precision–recall curve',
      caption:
        'How trustworthy a "yes" is (precision) as the model catches more of the true cases (recall). Higher is better.',
      spec: layered(values, 'recall', 'Recall', 'precision', 'Precision', false),
    });
  }
  if (details.reliability) {
    const bins = details.reliability
      .filter((b) => b.rows > 0)
      .map((b) => ({ predicted: b.meanPredicted, observed: b.observed, rows: b.rows }));
    charts.push({
      id: 'calibration',
      title: 'Calibration',
      caption:
        'Predicted probability against how often the outcome really happened. Points on the dashed line mean the probabilities can be taken at face value; dot size is the number of cases.',
      spec: {
        width: WIDTH,
        height: HEIGHT,
        config,
        layer: [
          {
            data: {
              values: [
                { x: 0, y: 0 },
                { x: 1, y: 1 },
              ],
            },
            mark: { type: 'line', strokeDash: [4, 4], color: GREY },
            encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
          },
          {
            data: { values: bins },
            mark: { type: 'line', color: BLUE },
            encoding: {
              ...reliabilityAxes,
            },
          },
          {
            data: { values: bins },
            mark: { type: 'circle', color: BLUE, opacity: 0.85 },
            encoding: {
              x: { field: 'predicted', type: 'quantitative' },
              y: { field: 'observed', type: 'quantitative' },
              size: { field: 'rows', type: 'quantitative', scale: { range: [40, 400] }, legend: null },
            },
          },
        ],
      },
    });
  }
  const recalibrated = calibrationChart(report.calibration, { width: WIDTH, height: HEIGHT });
  if (recalibrated) charts.push(recalibrated);
  if (details.confusion) {
    const { classes, counts } = details.confusion;
    const cells = counts.flatMap((row, a) =>
      row.map((count, p) => ({ actual: classes[a], predicted: classes[p], count })),
    );
    const darkAbove = Math.max(...cells.map((c) => c.count)) / 2;
    charts.push({
      id: 'confusion',
      title: 'Confusion matrix',
      caption: `Cases by true outcome (rows) and the model's answer at threshold ${report.threshold} (columns). The diagonal is right; everything else is a mistake.`,
      spec: {
        width: Math.min(WIDTH, 90 * classes.length),
        height: Math.min(HEIGHT, 70 * classes.length),
        config,
        data: { values: cells },
        encoding: {
          x: {
            field: 'predicted',
            type: 'nominal',
            title: 'Predicted',
            sort: classes,
            axis: { labelAngle: 0 },
          },
          y: { field: 'actual', type: 'nominal', title: 'Actual', sort: classes },
        },
        layer: [
          {
            mark: 'rect',
            encoding: {
              color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' }, legend: null },
            },
          },
          {
            mark: { type: 'text', fontSize: 13 },
            encoding: {
              text: { field: 'count', type: 'quantitative', format: ',.0f' },
              color: { condition: { test: `datum.count > ${darkAbove}`, value: 'white' }, value: '#111' },
            },
          },
        ],
      },
    });
  }
  if (details.residuals) {
    charts.push({
      id: 'residuals',
      title: 'Predicted against actual',
      caption: 'Each dot is a case; dots on the dashed line were predicted exactly.',
      spec: {
        width: WIDTH,
        height: HEIGHT,
        config,
        data: { values: details.residuals },
        layer: [
          {
            mark: { type: 'point', opacity: 0.5, color: BLUE },
            encoding: {
              x: { field: 'actual', type: 'quantitative', title: 'Actual' },
              y: { field: 'predicted', type: 'quantitative', title: 'Predicted' },
            },
          },
          {
            mark: { type: 'rule', strokeDash: [4, 4], color: GREY },
            encoding: {
              x: { aggregate: 'min', field: 'actual' },
              y: { aggregate: 'min', field: 'actual' },
              x2: { aggregate: 'max', field: 'actual' },
              y2: { aggregate: 'max', field: 'actual' },
            },
          },
        ],
      },
    });
  }
  for (const fairness of report.fairness) charts.push(fairnessChart(fairness));
  const sliced = sliceChart(report.slices, report.task === 'regression' ? 'rmse' : 'auc');
  if (sliced) charts.push(sliced);
  if (history.length > 0) {
    const values = history.flatMap((h) => [
      { epoch: h.epoch, loss: h.trainLoss, split: 'training' },
      { epoch: h.epoch, loss: h.validationLoss, split: 'validation' },
    ]);
    charts.push({
      id: 'training',
      title: 'Training progress',
      caption:
        'Error on the training data and on held-back validation data after each pass. Training stops keeping changes once the validation error stops improving.',
      spec: {
        width: WIDTH,
        height: HEIGHT,
        config,
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1 } },
          y: { field: 'loss', type: 'quantitative', title: 'Loss', scale: { zero: false } },
          color: { field: 'split', type: 'nominal', title: null, scale: { range: [GREY, BLUE] } },
        },
      },
    });
  }
  return charts;
}

function layered(
  values: object[],
  x: string,
  xTitle: string,
  y: string,
  yTitle: string,
  diagonal: boolean,
): TopLevelSpec {
  const curve = {
    data: { values },
    mark: { type: 'line' as const, interpolate: 'step-after' as const },
    encoding: {
      x: { field: x, type: 'quantitative' as const, title: xTitle, scale: { domain: [0, 1] } },
      y: { field: y, type: 'quantitative' as const, title: yTitle, scale: { domain: [0, 1] } },
      color: {
        field: 'model',
        type: 'nominal' as const,
        title: null,
        // Only the models drawn: no "production" legend entry when there is no production model.
        scale: values.some((v) => (v as { model?: string }).model === 'production')
          ? { domain: ['this model', 'production'], range: [BLUE, '#e07b39'] }
          : { domain: ['this model'], range: [BLUE] },
      },
    },
  };
  const guide = {
    data: {
      values: [
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ],
    },
    mark: { type: 'line' as const, strokeDash: [4, 4], color: GREY },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const },
      y: { field: 'y', type: 'quantitative' as const },
    },
  };
  return { width: WIDTH, height: HEIGHT, config, layer: diagonal ? [guide, curve] : [curve] };
}

function fairnessChart(report: FairnessReport): Omit<Chart, 'svg'> & { spec: TopLevelSpec } {
  const values = report.groups.flatMap((g) => [
    { group: g.value, measure: MEASURES[0], rate: g.selectionRate },
    { group: g.value, measure: MEASURES[1], rate: g.truePositiveRate },
    { group: g.value, measure: MEASURES[2], rate: g.falsePositiveRate },
  ]);
  return {
    id: `fairness-${report.column}`,
    title: `Fairness across ${report.column}`,
    caption: `For each ${report.column} group: how often the model says yes, how many true cases it catches, and how many false alarms it raises. Similar bars across groups mean similar treatment.`,
    spec: {
      width: WIDTH,
      height: HEIGHT,
      config,
      data: { values: values.filter((v) => v.rate !== null) },
      mark: 'bar',
      encoding: {
        x: { field: 'group', type: 'nominal', title: report.column, axis: { labelAngle: 0 } },
        xOffset: { field: 'measure', type: 'nominal', sort: MEASURES },
        y: { field: 'rate', type: 'quantitative', title: 'Rate', scale: { domain: [0, 1] } },
        color: {
          field: 'measure',
          type: 'nominal',
          title: null,
          scale: { domain: MEASURES, range: [BLUE, '#39a96b', '#e07b39'] },
          legend: { labelLimit: 220 },
        },
      },
    },
  };
}

function sliceChart(
  rows: GroupRow[],
  metric: 'auc' | 'rmse',
): (Omit<Chart, 'svg'> & { spec: TopLevelSpec }) | null {
  const measured = (r: GroupRow) => r.metrics[metric] !== null && r.metrics[metric] !== undefined;
  const values = rows
    .filter(measured)
    .map((r) => ({ group: `${r.slice} = ${r.value}`, value: r.metrics[metric], rows: r.rows }));
  if (values.length === 0) return null;
  // A slice the measure is undefined on (too few cases, or one outcome only) is named, not dropped.
  const unmeasured = rows
    .filter((r) => !measured(r))
    .map((r) => `${r.slice} = ${r.value} (${r.rows.toLocaleString('en')} case${r.rows === 1 ? '' : 's'})`);
  const name = metric === 'auc' ? 'AUC' : 'RMSE';
  return {
    id: 'slices',
    title: `${name} by slice`,
    caption:
      `The headline measure computed separately for each slice of the evaluation data (${metric === 'auc' ? 'higher' : 'lower'} is better). Short bars on few cases are less certain.` +
      (unmeasured.length === 0
        ? ''
        : ` Too small to measure ${name} on, so not drawn: ${unmeasured.join(', ')}.`),
    spec: {
      width: WIDTH,
      height: Math.max(120, 16 * values.length),
      config,
      data: { values },
      mark: { type: 'bar', color: BLUE },
      encoding: {
        y: { field: 'group', type: 'nominal', title: null, sort: '-x', axis: { labelLimit: 240 } },
        x: {
          field: 'value',
          type: 'quantitative',
          title: metric === 'auc' ? 'AUC' : 'RMSE',
          scale: metric === 'auc' ? { domain: [0, 1] } : {},
        },
        tooltip: [{ field: 'rows', type: 'quantitative' }],
      },
    },
  };
}

/**
 * Render every chart to SVG with Vega (no browser, no canvas). Time-boxed, like every report: a chart
 * that fails, or that would start after `budgetMs` has been spent, is named on the card instead of
 * failing the step.
 */
export async function renderCharts(
  specs: ReturnType<typeof chartSpecs>,
  budgetMs = 20_000,
): Promise<Chart[]> {
  const charts: Chart[] = [];
  const started = performance.now();
  for (const { spec, ...chart } of specs) {
    const left = budgetMs - (performance.now() - started);
    if (left <= 0) {
      charts.push({
        ...chart,
        svg: null,
        error: `skipped: the card's ${budgetMs / 1000} s drawing budget ran out`,
      });
      continue;
    }
    let timer: NodeJS.Timeout | undefined;
    let view: vega.View | undefined;
    try {
      view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`took longer than the ${Math.round(left)} ms left`)), left);
      });
      charts.push({ ...chart, svg: await Promise.race([view.toSVG(), timeout]) });
    } catch (error) {
      charts.push({ ...chart, svg: null, error: (error as Error).message.split('\n')[0] ?? 'unknown error' });
    } finally {
      clearTimeout(timer);
      view?.finalize();
    }
  }
  return charts;
}
