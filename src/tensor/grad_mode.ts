// Grad modes as scopes: noGrad / enableGrad / inferenceMode, like torch's context managers.
import { native } from './native.js';

/** Runs fn with gradient recording off (torch.no_grad). Async fns keep the mode until they settle. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn with gradient recording on (torch.enable_grad), e.g. inside a noGrad scope. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = native.setGradEnabled(on);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/**
 * torch.inference_mode: no autograd bookkeeping at all (faster than noGrad); tensors made here can
 * never enter autograd later. fn must be synchronous.
 */
export function inferenceMode<T>(fn: () => T): T {
  native.enterInference();
  try {
    return fn();
  } finally {
    native.exitInference();
  }
}

export function isInferenceMode(): boolean {
  return native.isInference();
}

/** Runs fn under CPU autocast to bfloat16 (mixed precision: matmuls/convs in bf16, reductions in fp32). */
export function autocastBf16<T>(fn: () => T): T {
  const prev = native.setAutocastCpu(true, 15);
  try {
    return fn();
  } finally {
    native.setAutocastCpu(prev);
  }
}
