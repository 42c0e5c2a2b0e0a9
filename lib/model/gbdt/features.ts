/**
 * The tree learner's view of its input columns and how their values map to histogram bins: plain JSON
 * stored with the forest, read by the learner (activities/train/gbdt/binning.ts) and by the predictor.
 */

/** What a column of the input matrix is to the learner. */
export type GbdtFeatureKind = 'numeric' | 'categorical';

export interface GbdtFeature {
  name: string;
  kind: GbdtFeatureKind;
}

/** How one feature's values map to bins. Plain JSON, stored in the model. */
export type FeatureBins =
  | {
      kind: 'numeric';
      /** Value v goes to the first bin b with v <= upper[b]; above the last bound, to `upper.length`. */
      upper: number[];
      /** Bins for values (`upper.length + 1`); the missing bin is the index after them. */
      bins: number;
      missingBin: number;
    }
  | {
      kind: 'categorical';
      /** Kept codes in bin order: code `codes[b]` is bin b. */
      codes: number[];
      /** Codes not kept (rare, or unseen in training) go here. */
      otherBin: number;
      missingBin: number;
      bins: number;
    };
