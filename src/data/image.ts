// Images as Tensors: read/decode to float32 [3, H, W] in [-1, 1], and write back to png/jpeg/webp.
import { writeFile } from 'node:fs/promises';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { ImageEncodeError } from './errors.js';
import { decodeImage, encodeImage, formatFromPath, type DecodeOptions, type DecodedImage, type EncodeOptions } from './image_codec.js';

/** A decoded image as a float32 tensor [3, H, W]. */
export function imageToTensor(img: DecodedImage): Tensor {
  return tensor(img.data, { shape: [3, img.height, img.width] });
}

/** Reads png/jpeg/webp (file path or bytes) to float32 [3, H, W] in [-1, 1]. Throws ImageDecodeError. */
export async function readImage(input: string | Buffer, opts: DecodeOptions = {}): Promise<Tensor> {
  return imageToTensor(await decodeImage(input, opts));
}

/** Encodes [3, H, W], [1, H, W] or [1, 3, H, W] (values in [-1, 1]; clamped and rounded) to bytes. */
export async function encodeTensorImage(img: Tensor, opts: EncodeOptions = {}): Promise<Buffer> {
  const name = opts.name ?? '<tensor>';
  let shape = img.shape;
  if (shape.length === 4 && shape[0] === 1) shape = shape.slice(1);
  if (shape.length !== 3 || (shape[0] !== 3 && shape[0] !== 1)) {
    throw new ImageEncodeError(name, `expected a [3, H, W] (or [1, H, W], [1, 3, H, W]) tensor, got [${img.shape.join(', ')}]`);
  }
  if (img.dtype === 'bool' || img.dtype.startsWith('int') || img.dtype === 'uint8') {
    throw new ImageEncodeError(name, `expected a floating tensor in [-1, 1], got dtype ${img.dtype}`);
  }
  return encodeImage(img.toFloat32Array(), shape[0], shape[1], shape[2], opts);
}

/** Writes an image tensor; the format follows the extension unless opts.format is given. */
export async function writeImage(path: string, img: Tensor, opts: EncodeOptions = {}): Promise<void> {
  const buf = await encodeTensorImage(img, { ...opts, format: opts.format ?? formatFromPath(path), name: path });
  await writeFile(path, buf);
}
