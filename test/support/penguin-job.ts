import { join } from 'node:path';
import type { TrainJob } from '../../activities/train/train-core.js';
import {
  featuresSchema,
  labelSchema,
  splitSchema,
  trainerSchema,
  type TrainerConfig,
} from '../../pipelines/train-spec.js';
import { dataDir } from './paths.js';

/** Hash-split key of penguins.json: the fields that tell its rows apart. */
export const PENGUIN_KEY = `concat_ws('|', Species, Island, "Beak Length (mm)", "Body Mass (g)", Sex)`;

/** A training job on penguins.json (species, multiclass, unless `label` says otherwise), hash split. */
export function penguinJob(
  trainer: TrainerConfig,
  label: object = { column: 'Species', task: 'multiclass' },
  key = PENGUIN_KEY,
): TrainJob {
  return {
    dataset: { path: join(dataDir, 'penguins.json'), uri: 'penguins.json', sha256: 'test', bytes: 0 },
    features: featuresSchema.parse({
      numeric: ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'],
      categorical: ['Island', 'Sex'],
    }),
    label: labelSchema.parse(label),
    split: splitSchema.parse({ kind: 'hash', key, seed: 1 }),
    trainer: trainerSchema.parse(trainer),
  };
}
