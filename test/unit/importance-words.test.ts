import { describe, expect, it } from 'vitest';
import type { FeatureImportance, ImportanceReport } from '../../activities/evaluate/importance.js';
import { cardImportance, renderImportance } from '../../activities/model-card/importance-words.js';

const esc = (text: string) => text.replace(/</g, '&lt;');

function report(shares: Record<string, number>, sliceRows = 50): ImportanceReport {
  const features: FeatureImportance[] = Object.entries(shares).map(([feature, share]) => ({
    feature,
    share,
    meanAbs: share * 0.4,
  }));
  return {
    method: 'tree-shap',
    space: 'log-odds',
    rows: 1000,
    of: 4000,
    global: features,
    slices: [{ slice: 'carrier', value: 'AA', rows: sliceRows, features }],
  };
}

function sentence(shares: Record<string, number>): string {
  const card = cardImportance(report(shares), 'whether “late”');
  return card && 'sentence' in card ? card.sentence : '';
}

describe('what drives the model, in words', () => {
  it('names the top three, then sums the rest', () => {
    expect(sentence({ hour: 0.52, carrier: 0.2, distance: 0.13, origin: 0.1, weekday: 0.05 })).toBe(
      'Predictions of whether “late” are driven mostly by hour (52%), then by carrier (20%) and distance (13%); the other 2 inputs add 15%.',
    );
  });

  it('says "most" below half, and names a lone last input instead of counting it', () => {
    expect(sentence({ hour: 0.4, carrier: 0.3, distance: 0.2, origin: 0.1 })).toBe(
      'Predictions of whether “late” are driven most by hour (40%), then by carrier (30%), distance (20%) and origin (10%).',
    );
  });

  it('one input, or none moving the answer', () => {
    expect(sentence({ hour: 1, carrier: 0 })).toBe(
      'Predictions of whether “late” are driven entirely by hour.',
    );
    expect(sentence({ hour: 0, carrier: 0 })).toBe(
      'Predictions of whether “late” are driven by none of the inputs: the model gives every case the same answer.',
    );
  });

  it('a slice with too few explained cases is said to be too small', () => {
    const card = cardImportance(report({ hour: 0.6, carrier: 0.4 }, 7), 'whether “late”');
    expect(card && 'slices' in card ? card.slices[0]!.sentence : '').toBe(
      'Too few explained cases (7) to say what drives it here.',
    );
  });

  it('a model with no explainer says why on the card; an older evaluation shows nothing', () => {
    const card = cardImportance({ unavailable: 'this is a mlp model <no explainer>' }, 'x');
    expect(card).toEqual({ unavailable: 'this is a mlp model <no explainer>' });
    expect(renderImportance(card!, esc)).toContain('this is a mlp model &lt;no explainer>');
    expect(cardImportance(undefined, 'x')).toBeNull();
  });
});
