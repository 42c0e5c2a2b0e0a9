import { cloneDense } from './dense-params.js';
import { meanLoss, type Trainer, type TrainingData } from './trainer.js';
import type { EpochRecord, LoopCheckpoint, LoopOptions, LoopResult } from './training-loop.js';

/**
 * The epoch bookkeeping of a training loop, as `runTrainingLoop` keeps it: where training starts (a
 * resumed checkpoint, restored into the trainer, or epoch 0), the checkpoint after an epoch (best
 * validation loss, epochs since it) and the result. The streamed loop (`streamed-loop.ts`) uses these,
 * so both loops keep the same checkpoints and stop early on the same rule.
 */
export function startCheckpoint(trainer: Trainer, resume: LoopCheckpoint | undefined): LoopCheckpoint {
  if (resume) {
    trainer.restore(resume.state);
    return resume;
  }
  const initial = trainer.state();
  return {
    epoch: 0,
    state: initial,
    best: { epoch: 0, validationLoss: Infinity, params: cloneDense(initial.params) },
    sinceBest: 0,
    history: [],
  };
}

/** The checkpoint after `record`'s epoch, with the trainer's state then. */
export function nextCheckpoint(
  previous: LoopCheckpoint,
  trainer: Trainer,
  record: EpochRecord,
  minDelta: number,
): LoopCheckpoint {
  const { epoch, validationLoss } = record;
  const improved = validationLoss < previous.best.validationLoss - minDelta;
  const state = trainer.state();
  return {
    epoch,
    state,
    best: improved ? { epoch, validationLoss, params: cloneDense(state.params) } : previous.best,
    sinceBest: improved ? 0 : previous.sinceBest + 1,
    history: [...previous.history, record],
  };
}

/** Whether early stopping stops after `checkpoint`. */
export function stopsAfter(checkpoint: LoopCheckpoint, options: Pick<LoopOptions, 'earlyStopping'>): boolean {
  return checkpoint.sinceBest >= options.earlyStopping.patience;
}

/** The loop's result from its last checkpoint: the best epoch's weights. */
export function loopResult(
  checkpoint: LoopCheckpoint,
  options: Pick<LoopOptions, 'epochs' | 'resume' | 'earlyStopping'>,
): LoopResult {
  const stopping = stopsAfter(checkpoint, options);
  const best = checkpoint.best.epoch === 0 ? checkpoint.state.params : checkpoint.best.params;
  const resumedFrom = options.resume?.epoch;
  return {
    params: cloneDense(best),
    bestEpoch: checkpoint.best.epoch,
    epochsRun: checkpoint.epoch,
    stoppedEarly: stopping && checkpoint.epoch < options.epochs,
    history: checkpoint.history,
    ...(resumedFrom === undefined ? {} : { resumedFrom }),
  };
}

/** The mean (weighted) loss of the trainer's current weights on the validation split: what early stopping watches. */
export function validationLoss(
  trainer: Trainer,
  validation: TrainingData,
  options: Pick<LoopOptions, 'output'>,
): number {
  const units = trainer.state().params.sizes.at(-1) ?? 1;
  const z = trainer.logits(validation.x, validation.rows);
  return meanLoss(options.output, z, validation.y, validation.rows, units, validation.w);
}
