// The trainer's typed failures.

/** The loss (or gradient norm) stopped being finite; nothing of that step was saved. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
  constructor(readonly step: number, what: string, value: number, lastCheckpoint: string | undefined) {
    super(`${what} is ${value} at step ${step} (optimizer step ${step} of this run, 1-based); training stopped without saving this state. ` +
      (lastCheckpoint ? `Last good checkpoint: ${lastCheckpoint}` : 'No checkpoint was written before it.') +
      ' Lower train.lr, enable train.grad_clip, or use train.precision=fp32.');
  }
}

export class TrainerSetupError extends Error {
  override name = 'TrainerSetupError';
}
