import type { FeatureImportance, ImportanceSection } from '../evaluate/importance.js';
import { num, pct } from './metric-words.js';

/** What drives the model, for the card: a sentence, the ranking, and the same per slice. */
export type CardImportance =
  | {
      sentence: string;
      /** How the figures were found, in plain words. */
      method: string;
      rows: number;
      of: number;
      global: FeatureImportance[];
      slices: {
        slice: string;
        value: string;
        rows: number;
        sentence: string;
        features: FeatureImportance[];
      }[];
    }
  | { unavailable: string };

/** Fewer explained rows than this in a slice: the card says so instead of ranking. */
const MIN_SLICE_ROWS = 20;

const spaceWords = {
  'log-odds': 'log-odds of a “yes”',
  logit: 'class scores (logits, summed over the classes)',
  value: 'units of the predicted value',
} as const;

/** The card's importance section from the evaluation's (null for evaluations stored before it). */
export function cardImportance(
  section: ImportanceSection | undefined,
  outcome: string,
): CardImportance | null {
  if (!section) return null;
  if ('unavailable' in section) return { unavailable: section.unavailable };
  const how =
    section.method === 'tree-shap'
      ? 'exact SHAP values of the trees (TreeSHAP)'
      : 'exact contributions of the linear model, each input’s weight times its distance from the training average';
  return {
    sentence: `Predictions of ${outcome} are driven ${drivers(section.global)}`,
    method: `Each input’s share of the model’s answers, from ${how} on ${section.rows.toLocaleString('en')} of the ${section.of.toLocaleString('en')} evaluation cases: the average size of its push on the ${spaceWords[section.space]}, whichever way it pushed.`,
    rows: section.rows,
    of: section.of,
    global: section.global,
    slices: section.slices.map((s) => ({
      ...s,
      sentence:
        s.rows < MIN_SLICE_ROWS
          ? `Too few explained cases (${s.rows}) to say what drives it here.`
          : `Driven ${drivers(s.features, 2)}`,
    })),
  };
}

/** "mostly by hour (52%), then by origin (30%) and distance (12%)." */
function drivers(features: readonly FeatureImportance[], named = 3): string {
  const moving = features.filter((f) => f.share > 0);
  if (moving.length === 0) return 'by none of the inputs: the model gives every case the same answer.';
  if (moving.length === 1) return `entirely by ${moving[0]!.feature}.`;
  // Name one more rather than say "the other 1 input".
  const shown = moving.length === named + 1 ? moving : moving.slice(0, named);
  const [first, ...rest] = shown;
  const lead = first!.share >= 0.495 ? 'mostly' : 'most'; // "mostly" from what the card shows as 50%
  const share = (f: FeatureImportance) => `${f.feature} (${pct(f.share)})`;
  const then =
    rest.length === 1
      ? share(rest[0]!)
      : `${rest.slice(0, -1).map(share).join(', ')} and ${share(rest.at(-1)!)}`;
  const others = moving.slice(shown.length);
  const tail =
    others.length === 0
      ? ''
      : `; the other ${others.length} input${others.length === 1 ? '' : 's'} ${others.length === 1 ? 'adds' : 'add'} ${pct(others.reduce((a, f) => a + f.share, 0))}`;
  return `${lead} by ${share(first!)}, then by ${then}${tail}.`;
}

/** The card's "What drives the model" section (text already escaped by `esc`). */
export function renderImportance(importance: CardImportance, esc: (text: string) => string): string {
  if ('unavailable' in importance) {
    return `<section><h2>What drives the model</h2><p class="note">${esc(importance.unavailable)}</p></section>`;
  }
  const bar = (share: number) =>
    `<span class="bar" style="display:inline-block;height:10px;background:#4c78a8;width:${Math.round(share * 160)}px"></span>`;
  const slices = importance.slices.filter((s) => s.features.length > 0);
  return `<section><h2>What drives the model</h2>
<p>${esc(importance.sentence)}</p>
<p class="note">${esc(importance.method)}</p>
<table><thead><tr><th>Input</th><th>Share</th><th></th><th>Average push</th></tr></thead><tbody>
${importance.global.map((f) => `<tr><td>${esc(f.feature)}</td><td class="num">${pct(f.share)}</td><td>${bar(f.share)}</td><td class="num">${num(f.meanAbs)}</td></tr>`).join('\n')}
</tbody></table>
${
  slices.length === 0
    ? ''
    : `<h3>By slice</h3>
<p class="note">The same figures on each slice's explained cases. Contributions are measured from the whole training data's average, so the slice's own column can matter inside its slice: having that value at all is part of what moves its cases.</p>
<table><thead><tr><th>Slice</th><th>Cases explained</th><th>What drives it</th></tr></thead><tbody>
${slices.map((s) => `<tr><td>${esc(s.slice)} = ${esc(s.value)}</td><td class="num">${s.rows.toLocaleString('en')}</td><td>${esc(s.sentence)}</td></tr>`).join('\n')}
</tbody></table>`
}
</section>`;
}
