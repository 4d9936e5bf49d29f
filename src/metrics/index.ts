// Image quality metrics: MSE, PSNR, SSIM (per image) and SWD (per image set).
export { mse } from './mse.js';
export { psnr, psnrFromMse } from './psnr.js';
export { colourShift } from './colour.js';
export { ssim, gaussianWindow, type SsimOptions } from './ssim.js';
export type { MetricOptions } from './common.js';
export { SwdSet, swd, swdMany, slicedWasserstein, normalizeDescriptors, randomDirections, patchDescriptors, laplacianPyramid, pyrDown, pyrUp, pyramidLevels, type SwdOptions, type SwdResult } from './swd.js';
