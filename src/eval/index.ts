// Evaluation: image quality metrics and the `fmboost eval` runner (rows, report files).
export * from './metrics/index.js';
export { parseRows, DEFAULT_ROWS, EvalSpecError, type EvalRow, type BaselineKind } from './rows.js';
export { lanczosMatrix, lanczosResize } from './lanczos.js';
export { loadEsrgan, EsrganUnavailableError, type Esrgan } from './esrgan.js';
export { runEval, disposeGrid, listImages, makeLowRes, sharpUpscale, lanczosUpscale, vaeRoundTrip, couplingRoundTrip, EvalError, type EvalOptions, type EvalResult, type RowResult, type ImageScore } from './run.js';
export { writeEvalReport, evalMarkdown, psnrNfePlot, solverCurves, type EvalFiles } from './report.js';
