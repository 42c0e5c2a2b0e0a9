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

  it('evaluation: blessed lists every check as evidence; not blessed lists the failed ones', () => {
    const reasons = [
      { check: 'auc', passed: true, message: 'auc 0.71 >= 0.62' },
      { check: 'vsProduction.auc', passed: false, message: 'auc 0.71 is 0.02 below production' },
    ];
    expect(decideGate('evaluation', 'e', { blessed: false, reasons })).toEqual({
      step: 'e',
      gate: 'evaluation',
      passed: false,
      reasons: ['auc 0.71 is 0.02 below production'],
    });
    expect(decideGate('evaluation', 'e', { blessed: true, reasons: [reasons[0]!] }).reasons).toEqual([
      'auc 0.71 >= 0.62',
    ]);
    expect(decideGate('evaluation', 'e', null).passed).toBe(false);
    // evaluateModel's own shape: the blessing nested in the evaluation summary.
    expect(
      decideGate('evaluation', 'e', { rows: 10, blessing: { blessed: false, reasons } }).reasons,
    ).toEqual(['auc 0.71 is 0.02 below production']);
  });
});
