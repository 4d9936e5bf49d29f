// Titles above the columns of a side-by-side image (the CLI's --compare): a white strip with DejaVu text, drawn as
// SVG and composited by sharp.
import sharp from 'sharp';
import type { ImageFormat } from './image_codec.js';
import { escapeXml } from '../util/xml.js';

export interface ColumnLabel {
  /** Left edge and width of the column in pixels. */
  x: number;
  width: number;
  text: string;
}


/** The encoded image with a strip of column titles on top, encoded as `format`. */
export async function addColumnLabels(image: Buffer, labels: ColumnLabel[], o: { format?: ImageFormat; quality?: number } = {}): Promise<Buffer> {
  const { width = 0 } = await sharp(image).metadata();
  const size = Math.max(10, Math.min(16, Math.round(width / 60)));
  const header = Math.round(size * 1.8);
  const text = labels.map((l) => `<text x="${l.x + l.width / 2}" y="${Math.round(header * 0.7)}" font-size="${size}" text-anchor="middle">${escapeXml(l.text)}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${header}" font-family="DejaVu Sans, sans-serif">${text}</svg>`;
  const img = sharp(image).extend({ top: header, background: { r: 255, g: 255, b: 255, alpha: 1 } }).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  const f = o.format ?? 'png';
  return (f === 'jpeg' ? img.flatten({ background: '#ffffff' }).jpeg({ quality: o.quality ?? 95 }) : f === 'webp' ? img.webp({ quality: o.quality ?? 95 }) : img.png()).toBuffer();
}
