// Evaluation: image quality metrics (more evaluation tools join here).
export * from './metrics/index.js';
