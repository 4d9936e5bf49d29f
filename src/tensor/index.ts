// The tensor engine's public surface.
export { Tensor, type MemoryFormat, type Shape, type TensorLike, type NestedArray } from './tensor.js';
export { type DType, ALL_DTYPES, BYTES, isFloating, type TypedArray } from './dtype.js';
export { TorchError, DisposedTensorError } from './errors.js';
export { tidy, keep, dispose, Scope, liveTensors, nativeLiveTensors, liveBytes } from './scope.js';
export { Generator, manualSeed } from './generator.js';
export * from './creation.js';
export { noGrad, enableGrad, inferenceMode, isGradEnabled, isInferenceMode, autocastBf16 } from './grad_mode.js';
export { PRECISIONS, isPrecisionOption, cpuFlags, cpuBf16, resolvePrecision, atPrecision, type Precision, type PrecisionOption } from './precision.js';
export { maxThreads } from './limits.js';
export { setNumThreads, getNumThreads, runtimeInfo, cudaAvailable } from './runtime.js';
export { nativeLoaded } from './native.js';
export { defOp, hasOp } from './dispatch.js';
export { OpProfile, opClass, profileOps, startOpProfile, stopOpProfile, OP_CLASSES, type OpClass, type OpRow } from './profiler.js';
export * as F from './functional.js';
export { autogradGrad } from './autograd.js';
