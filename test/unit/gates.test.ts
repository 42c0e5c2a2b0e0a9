import { describe, expect, it } from 'vitest';
import { decideGate } from '../../pipelines/gates.js';

describe('decideGate', () => {
  it('validation: passes with no error anomalies, counting warnings', () => {
    expect(decideGate('validation', 'v', { errorCount: 0, warningCount: 1, anomalies: [] })).toEqual({
      step: 'v',
      gate: 'validation',
      passed: true,
      reasons: ['no error anomalies (1 warning)'],
    });
  });

  it('validation: refuses on errors, listing at most five and counting the rest', () => {
    const anomalies = Array.from({ length: 7 }, (_, i) => ({
      column: `c${i}`,
      check: 'max',
      expected: '<= 1',
      observed: i + 2,
      severity: 'error',
    }));
    anomalies.push({ column: 'w', check: 'regex', expected: 'x', observed: 1, severity: 'warn' });
    const decision = decideGate('validation', 'v', { errorCount: 7, warningCount: 1, anomalies });
    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual([
      '7 error anomalies',
      'c0: max expected <= 1, observed 2',
      'c1: max expected <= 1, observed 3',
      'c2: max expected <= 1, observed 4',
      'c3: max expected <= 1, observed 5',
      'c4: max expected <= 1, observed 6',
      '…and 2 more',
    ]);
  });

  it('validation on a step that does not validate refuses, naming the mistake', () => {
    expect(decideGate('validation', 'train', { rows: 3 })).toEqual({
      step: 'train',
      gate: 'validation',
      passed: false,
      reasons: ['step "train" returned no errorCount: a validation gate needs a validateDataset step'],
    });
  });

  const measured = (auc: number, production?: number) => ({
    rows: 500,
    metrics: { auc: { value: auc, lo: auc - 0.03, hi: auc + 0.03 } },
    production:
      production === undefined
        ? null
        : {
            model: { sha256: 'p' },
            metrics: { auc: { value: production, lo: null, hi: null } },
            delta: { auc: { value: auc - production, lo: null, hi: null } },
          },
    fairness: [],
    slices: [],
  });
  const bless = { auc: { min: 0.62 }, vsProduction: { auc: { minDelta: 0 } } };

  it('evaluation: derived from the measured metrics and the step spec, every check as evidence when blessed', () => {
    expect(decideGate('evaluation', 'e', measured(0.71, 0.7), { bless })).toEqual({
      step: 'e',
      gate: 'evaluation',
      passed: true,
      reasons: ['auc 0.71 ≥ minimum 0.62', 'auc 0.71 vs production 0.7: improvement 0.01 ≥ required 0'],
    });
    // Not blessed: only the failed checks.
    expect(decideGate('evaluation', 'e', measured(0.71, 0.73), { bless }).reasons).toEqual([
      'auc 0.71 vs production 0.73: improvement -0.02 < required 0',
    ]);
    // The spec's thresholds decide, so a changed threshold changes the verdict on the same metrics.
    expect(decideGate('evaluation', 'e', measured(0.71), { bless: { auc: { min: 0.75 } } }).passed).toBe(
      false,
    );
  });

  it('evaluation: a blessed flag sent by the step is not trusted; no metrics, or bad thresholds, refuse', () => {
    const claimed = { ...measured(0.5), blessing: { blessed: true, reasons: [] } };
    expect(decideGate('evaluation', 'e', claimed, { bless }).passed).toBe(false);
    expect(decideGate('evaluation', 'e', { blessed: true, reasons: [] }, { bless })).toEqual({
      step: 'e',
      gate: 'evaluation',
      passed: false,
      reasons: [
        expect.stringMatching(
          /^step "e" returned no metrics: an evaluation gate needs an evaluateModel step/,
        ),
      ],
    });
    expect(decideGate('evaluation', 'e', null).passed).toBe(false);
    expect(decideGate('evaluation', 'e', measured(0.7), { bless: { auc: { min: 'high' } } }).reasons).toEqual(
      [expect.stringMatching(/^step "e" params\.bless is not valid at auc\.min/)],
    );
  });
});
