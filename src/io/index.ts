// Weight files: safetensors read/write, PyTorch checkpoint (torch.save zip) reading; atomic file writes.
export { WeightsFileError } from './errors.js';
export { readSafetensors, readSafetensorsHeader, writeSafetensors, type SafetensorsEntry, type SafetensorsHeader, type ReadSafetensorsOptions } from './safetensors.js';
export { loadTorchCheckpoint, readTorchPickle, flattenCheckpoint, TensorRef, TorchStorageRef, TorchStorageType, type TorchCheckpoint, type LoadTorchOptions } from './torch_load.js';
export { PyGlobal, PyObject, PyCallable, UnpicklingError, unpickle, type UnpickleOptions } from './unpickle.js';
export { loadWeights, saveWeights, detectWeightsFormat, type WeightsFormat, type LoadWeightsOptions } from './weights.js';
export { writeFileAtomic, cleanStaleTemps, tempPathFor } from './atomic_file.js';
export { BUNDLE_FORMAT, BASE_FORMAT, CHECKPOINT_FORMAT, WEIGHTS_FORMAT } from './format_tags.js';
