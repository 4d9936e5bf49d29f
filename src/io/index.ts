// Weight files: safetensors read/write, PyTorch checkpoint (torch.save zip) reading.
export { WeightsFileError } from './errors.js';
export { readSafetensors, readSafetensorsHeader, writeSafetensors, type SafetensorsEntry, type SafetensorsHeader, type ReadSafetensorsOptions } from './safetensors.js';
