// Progress types of the upscaling stages (the pipeline's public ProgressCallback builds on them).

/** Where a run is: the stage name and a step counter within it (total known in advance). */
export type UpsampleStage = 'load' | 'encode' | 'flow' | 'decode' | 'resample';

/** What a stage reports; the Upsampler adds the overall fraction before the caller's callback sees it. */
export type StageProgressCallback = (stage: UpsampleStage, step: number, total: number, detail?: Omit<ProgressDetail, 'fraction'>) => void;

export interface ProgressDetail {
  /** The whole run's progress in [0, 1] (passes × encode / flow / decode, progress.ts). */
  fraction: number;
  /** Cascade pass (0-based) and number of passes. */
  pass: number;
  passes: number;
  /** Tile index within the stage (0-based) and tile count (1 when untiled). */
  tile: number;
  tiles: number;
}
