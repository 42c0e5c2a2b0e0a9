import type { ArtifactRef } from './artifact.js';
import type { JsonObject } from './json.js';
import type { SplitSpec, TaskKind, TrainerSpec } from './train-spec.js';
import type { FittedTransform } from './transform.js';

/**
 * A trained model by reference: the content-addressed manifest that ties together the TF.js model
 * files, the fitted transform and the metadata (docs/architecture.md decision 3). Equal bytes, equal ref — a rerun
 * on the same data with the same seed gives the same `ModelRef`.
 */
export type ModelRef = ArtifactRef & { kind: 'model' };

/** What a model is and where it came from: enough to audit it and to reproduce it. */
/** Source rows a training step left out, and why: counted and reported, never dropped in silence. */
export interface DroppedRows {
  /** Rows in the source. */
  source: number;
  /** The split key (or time column) was NULL: the row belongs to no split. */
  noSplit: number;
  /** The label was NULL. */
  missingLabel: number;
  /** The label was present but unusable: not a number, or a class the training split does not have. */
  unusableLabel: number;
}

export interface ModelMetadata {
  task: TaskKind;
  model: TrainerSpec['model'];
  /**
   * Which implementation trained it: the plain-TypedArray trainer, TF.js, the tree learner, or a
   * user's own trainer (`defineTrainer`, named in `trainer`).
   */
  engine: 'typed-array' | 'tfjs' | 'gbdt' | 'custom';
  /**
   * Set when a user's trainer (`defineTrainer`) fitted the weights: its name, the module it came from
   * (and that file's sha256) and the params it was given. `model` and `hyperparameters` then name the
   * built-in model it scores like (logistic, softmax, linear or mlp).
   */
  trainer?: { name: string; module: string; codeSha256: string; params: JsonObject };
  /** The TF.js backend in this process, and why faster ones were passed over. */
  backend: { name: string; skipped: string[] };
  /** Input features as declared (before encoding), and the encoded columns the network sees. */
  features: { numeric: string[]; categorical: string[] };
  inputs: string[];
  label: { sql: string; classes: string[] };
  data: {
    dataset: { uri: string; sha256: string; bytes: number };
    split: SplitSpec;
    rows: { train: number; validation: number; test: number };
    /** Source rows left out, and why (absent on models trained before it was counted). */
    dropped?: DroppedRows;
  };
  hyperparameters: TrainerSpec;
  seed: number;
  libraries: { tfjs: string; duckdb: string; node: string };
  training: {
    bestEpoch: number;
    epochsRun: number;
    stoppedEarly: boolean;
    /** Per epoch: mean training and validation loss (timings are left out so equal runs hash equal). */
    history: { epoch: number; trainLoss: number; validationLoss: number }[];
    /**
     * Set when the training split was over `trainer.memory` and every epoch streamed it from the
     * snapshot in `chunks` hash-dealt chunks (docs/training.md, "Memory"); absent: trained in memory.
     */
    streamed?: { chunks: number; budgetBytes: number };
  };
  metrics: { validationLoss: number };
  /**
   * Linear models (logistic, softmax, linear): each input column's mean over the training split, the
   * reference their exact explanations measure contributions from. Absent in older models.
   */
  inputMeans?: number[];
  /** Tree models only: trees kept (after early stopping) and leaves across them. */
  trees?: { trees: number; leaves: number; rounds: number };
}

/**
 * A probability calibration fitted on the validation split after training (`lib/model/calibration.ts`):
 * Platt scaling `sigmoid(a · logit(p) + b)`, or an isotonic step function through `x → y` points
 * (linear between points, clamped outside them). `rows`: validation rows it was fitted on.
 */
export type FittedCalibration =
  | { method: 'platt'; a: number; b: number; rows: number }
  | { method: 'isotonic'; x: number[]; y: number[]; rows: number };

/** The model manifest stored as JSON: its sha256 is the model's identity. */
export interface ModelManifest {
  format: 'sluice-model/1';
  /** Absent for tree models, which carry `gbdt` instead. */
  tfjs?: {
    /** `model.json`'s topology and weight specs, as TF.js writes them. */
    modelTopology: JsonObject;
    weightSpecs: JsonObject[];
    /** `weights.bin`, stored as its own artifact and verified on load. */
    weights: ArtifactRef;
  };
  /** Tree models: the forest as flat arrays (`activities/train/gbdt/forest-json.ts`), stored as its own artifact. */
  gbdt?: { forest: ArtifactRef };
  transform: FittedTransform;
  metadata: ModelMetadata;
  /**
   * Binary models trained with calibration: applied to P(positive) by batch evaluation and by serving.
   * Absent on models stored before calibration existed, and when calibration is off: scores are used as is.
   */
  calibration?: FittedCalibration;
}
