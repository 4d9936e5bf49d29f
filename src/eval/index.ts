// Evaluation: image quality metrics and the `fmboost eval` runner (rows, report files).
export * from '../metrics/index.js';
export { parseRows, isEsrganKind, DEFAULT_ROWS, EvalSpecError, type EvalRow, type BaselineKind } from './rows.js';
export { lanczosMatrix, lanczosResize } from './lanczos.js';
export { loadEsrgan, installedEsrganVariants, esrganInstallCommand, ESRGAN_VARIANTS, EsrganUnavailableError, type Esrgan, type EsrganVariant } from './esrgan.js';
export { BaselineCache, BaselineCacheError, lowResKey, type CachedOutput } from './cache.js';
export { runEval, disposeGrid, listImages, makeLowRes, sharpUpscale, lanczosUpscale, vaeRoundTrip, couplingRoundTrip, EvalError, type EvalOptions, type EvalResult, type RowResult, type ImageScore } from './run.js';
export { writeEvalReport, evalMarkdown, psnrNfePlot, solverCurves, labelledGrid, GRID_HEADER_PX, type EvalFiles } from './report.js';
