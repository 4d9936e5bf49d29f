// Images as Tensors: read/decode to float32 [3, H, W] in [-1, 1] (alpha and metadata blocks apart), and write
// back to png/jpeg/webp.
import { writeFileAtomic } from '../io/atomic_file.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { ImageEncodeError } from './errors.js';
import { decodeImage, encodeImage, formatFromPath, type DecodeOptions, type DecodedImage, type EncodeOptions, type ImageMetadataBlocks } from './image_codec.js';

/** A decoded image as a float32 tensor [3, H, W]. */
export function imageToTensor(img: DecodedImage): Tensor {
  return tensor(img.data, { shape: [3, img.height, img.width] });
}

/** An image as tensors: colour [3, H, W] and, when the file has one, alpha [1, H, W], both in [-1, 1]; plus the
 *  ICC and EXIF blocks to write back. The caller disposes `rgb` and `alpha`. */
export interface ImageParts extends ImageMetadataBlocks {
  rgb: Tensor;
  alpha?: Tensor;
}

/** Reads png/jpeg/webp (file path or bytes) to float32 [3, H, W] in [-1, 1]. Throws ImageDecodeError. */
export async function readImage(input: string | Buffer, opts: DecodeOptions = {}): Promise<Tensor> {
  return imageToTensor(await decodeImage(input, opts));
}

/** Reads an image with its alpha channel and metadata blocks (ImageParts). Throws ImageDecodeError. */
export async function readImageParts(input: string | Buffer, opts: DecodeOptions = {}): Promise<ImageParts> {
  const d = await decodeImage(input, opts);
  return {
    rgb: imageToTensor(d),
    ...(d.alpha ? { alpha: tensor(d.alpha, { shape: [1, d.height, d.width] }) } : {}),
    ...(d.icc ? { icc: d.icc } : {}), ...(d.exif ? { exif: d.exif } : {}),
  };
}

/** Encodes [3, H, W], [4, H, W] (RGBA), [1, H, W] or the same with a leading 1 (values in [-1, 1]; clamped and
 *  rounded) to bytes. */
export async function encodeTensorImage(img: Tensor, opts: EncodeOptions = {}): Promise<Buffer> {
  const name = opts.name ?? '<tensor>';
  let shape = img.shape;
  if (shape.length === 4 && shape[0] === 1) shape = shape.slice(1);
  if (shape.length !== 3 || (shape[0] !== 3 && shape[0] !== 1 && shape[0] !== 4)) {
    throw new ImageEncodeError(name, `expected a [3, H, W] (or [4, H, W] RGBA, [1, H, W], [1, 3, H, W]) tensor, got [${img.shape.join(', ')}]`);
  }
  if (img.dtype === 'bool' || img.dtype.startsWith('int') || img.dtype === 'uint8') {
    throw new ImageEncodeError(name, `expected a floating tensor in [-1, 1], got dtype ${img.dtype}`);
  }
  return encodeImage(img.toFloat32Array(), shape[0], shape[1], shape[2], opts);
}

/** Writes an image tensor atomically (temp file + rename); the format follows the extension unless opts.format
 *  is given. */
export async function writeImage(path: string, img: Tensor, opts: EncodeOptions = {}): Promise<void> {
  const buf = await encodeTensorImage(img, { ...opts, format: opts.format ?? formatFromPath(path), name: path });
  try {
    writeFileAtomic(path, buf);
  } catch (e) {
    throw new ImageEncodeError(path, `cannot write: ${(e as Error).message}`);
  }
}
