// `fmboost/tensor`: the PyTorch-shaped tensor library on its own: tensors and autograd, functional ops (F), modules
// and optimizers (nn), safetensors and torch checkpoint I/O. The upscaler, training and evaluation API is the
// package's main entry (`fmboost`).
export * from './tensor/index.js';
export * as nn from './nn/index.js';
export * from './io/index.js';
