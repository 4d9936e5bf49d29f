// fmboost: coupling flow matching on libtorch, from TypeScript.
export * from './tensor/index.js';
