import { describe, expect, it } from 'vitest';
import { liveAccuracy } from '../../activities/live-performance.js';
import { decideBreach, type MonitorMeasurement } from '../../pipelines/monitor.js';
import type { LabeledPrediction } from '../../lib/feedback-log.js';

const row = (prediction: unknown, label: LabeledPrediction['label'], version = 1): LabeledPrediction => ({
  requestId: 'r',
  instance: 0,
  version,
  role: 'production',
  time: '2026-11-24T00:00:00.000Z',
  features: {},
  prediction,
  score: null,
  label,
});

const measurement = (verdicts: ('ok' | 'drift')[], performance: MonitorMeasurement['performance'] = null) =>
  ({
    model: 'm',
    version: 1,
    reference: { sha256: 'a', rows: 10 },
    current: { name: 'c', sha256: 'b', rows: 10, source: 'c.parquet' },
    features: verdicts.map((verdict, i) => ({
      column: `f${i}`,
      psi: verdict === 'drift' ? 0.5 : 0.01,
      js: 0,
    })),
    skipped: [],
    performance,
  }) satisfies MonitorMeasurement;

describe('the monitor decision', () => {
  it('one drifted feature is a breach by default, naming the feature and the crossed line', () => {
    expect(decideBreach(measurement(['ok', 'drift']), { onBreach: 'retrain' })).toMatchObject({
      breach: true,
      reasons: ['feature f1: psi 0.500 > 0.2'],
      features: [
        { column: 'f0', verdict: 'ok', reasons: [] },
        { column: 'f1', verdict: 'drift', reasons: ['psi 0.500 > 0.2'] },
      ],
    });
    expect(decideBreach(measurement(['ok', 'ok']), { onBreach: 'retrain' }).breach).toBe(false);
  });

  it('applies the monitor thresholds itself, per feature too: the measurement carries no verdicts', () => {
    const drifted = measurement(['drift', 'drift']);
    expect(decideBreach(drifted, { onBreach: 'alert' }, { thresholds: { psi: 0.6 } }).breach).toBe(false);
    const perColumn = decideBreach(drifted, { onBreach: 'alert' }, { perColumn: { f0: { psi: 0.6 } } });
    expect(perColumn.reasons).toEqual(['feature f1: psi 0.500 > 0.2']);
    expect(() => decideBreach(drifted, { onBreach: 'alert' }, { thresholds: { psi: -1 } })).toThrow(/psi/);
  });

  it('minDriftedFeatures raises the bar; accuracy counts only with enough labels', () => {
    const policy = { onBreach: 'alert' as const, minDriftedFeatures: 2, minAccuracy: 0.7, minLabeled: 20 };
    expect(decideBreach(measurement(['drift', 'ok']), policy).breach).toBe(false);
    expect(decideBreach(measurement(['ok'], { labeled: 10, accuracy: 0.1 }), policy).breach).toBe(false);
    expect(decideBreach(measurement(['ok'], { labeled: 30, accuracy: 0.5 }), policy).reasons).toEqual([
      'accuracy 0.500 < 0.7 on 30 labelled predictions',
    ]);
  });
});

describe('live accuracy from logged predictions', () => {
  const binary = { task: 'binary' as const, sql: 'delay > 15', classes: ['0', '1'] };

  it('binary: the logged probability is cut at 0.5 and compared with 1/0/true/"1" labels of the watched version', () => {
    const rows = [
      row(0.9, 1),
      row(0.2, false),
      row(0.7, 'true'),
      row(0.6, 0),
      row(0.9, null),
      row(0.1, 1, 2),
    ];
    expect(liveAccuracy(rows, 1, binary)).toEqual({ labeled: 4, accuracy: 0.75 });
    expect(liveAccuracy([row(0.9, null)], 1, binary)).toBeNull();
  });

  it('multi-class: the arg max class name against the label; regression has no accuracy', () => {
    const label = { task: 'multiclass' as const, sql: 'x', classes: ['a', 'b', 'c'] };
    expect(liveAccuracy([row([0.1, 0.7, 0.2], 'b'), row([0.6, 0.3, 0.1], 'c')], 1, label)).toEqual({
      labeled: 2,
      accuracy: 0.5,
    });
    expect(liveAccuracy([row(3.2, 3)], 1, { task: 'regression', sql: 'x', classes: [] })).toBeNull();
  });
});
