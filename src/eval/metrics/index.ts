// Image quality metrics: MSE, PSNR, SSIM.
export { mse } from './mse.js';
export { psnr, psnrFromMse } from './psnr.js';
export { ssim, gaussianWindow, type SsimOptions } from './ssim.js';
export type { MetricOptions } from './common.js';
