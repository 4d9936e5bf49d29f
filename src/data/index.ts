// Data pipeline: image I/O, transforms (crop/flip/resize, PSU pairs), sources, batching loader.
export { ImageDecodeError, ImageEncodeError, DataSourceError } from './errors.js';
export {
  decodeImage, decodeImageU8, encodeImage, encodeImageU8, probeImage, readImageText, formatFromPath, checkQuality, checkBackground,
  DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS,
  type DecodeOptions, type DecodedImage, type DecodedU8, type EncodeOptions, type ImageFormat, type ImageMetadataBlocks,
} from './image_codec.js';
export { imageToTensor, readImage, readImageParts, writeImage, encodeTensorImage, type ImageParts } from './image.js';
export { addPngText, readPngText } from '../util/png_text.js';
export { addColumnLabels, type ColumnLabel } from './label.js';
export { U8_TO_FLOAT, u8HWCToFloatCHW, floatCHWToU8HWC, cropCHW, hflipCHW, centerCropOffsets, pyRound } from './pixels.js';
export { Rng } from './rng.js';
export { DEGRADATIONS, DEGRADATION_DOCS, DegradationError, checkDegradation, degrade, type Degradation } from './degradations.js';
export {
  randomCropParams, crop, randomCrop, centerCrop, randomHorizontalFlip, hflip, resize,
  type CropParams, type ResizeMode, type ResizeOptions, type Size2,
} from './transforms.js';
export type { DataSource, SourceItem, ImageRef, SkippedItem } from './sources/types.js';
export { ImageFolderSource, type ImageFolderOptions } from './sources/image_folder.js';
export { TarShardSource } from './sources/tar_shards.js';
export { readTarIndex, readTarMember, splitKey, type TarMember, type TarIndex } from './sources/tar.js';
export { LatentShardSource, LatentShardWriter, LATENT_MANIFEST_FORMAT, type LatentManifest } from './sources/latent_shards.js';
export type { AugmentSpec } from './decode_task.js';
export { DecodePool } from './decode_pool.js';
export { DataLoader, type LoaderOptions, type LoaderState, type Batch } from './loader.js';
