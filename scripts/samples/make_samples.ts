// Makes the bundled sample images (samples/*.png) from public-domain photos in Debian's endless-sky-data
// package (test split of data/, so the default model never trained on them). Needs the data cache:
//   bash scripts/data/assemble.sh --no-tiles && npx tsc -p . && node dist/scripts/samples/make_samples.js
// Each PNG carries its provenance in tEXt chunks; samples/README.md lists the same.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { addPngText } from '../../src/data/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CACHE = process.env.FMBOOST_DATA_CACHE ?? join(ROOT, 'data', 'cache');
const PKG = join(CACHE, 'root', 'endless-sky-data', 'usr/share/games/endless-sky/images/land');

interface Sample {
  out: string;
  src: string;
  /** Whole photo resized to this width (lanczos3, antialiased) or a crop at full resolution. */
  op: { resize: [number, number] } | { crop: [number, number, number, number] };
  copyright: string;
}

const SAMPLES: Sample[] = [
  { out: 'beach_256x128.png', src: 'beach2.jpg', op: { resize: [256, 128] }, copyright: 'Various (morgue-file.com donors), public domain' },
  { out: 'forest_256x128.png', src: 'forest2.jpg', op: { resize: [256, 128] }, copyright: 'Various (morgue-file.com donors), public domain' },
  { out: 'city_256x128.png', src: 'city9.jpg', op: { resize: [256, 128] }, copyright: 'Various (morgue-file.com donors), public domain' },
  { out: 'city_128x128_crop.png', src: 'city9.jpg', op: { crop: [232, 200, 128, 128] }, copyright: 'Various (morgue-file.com donors), public domain' },
  { out: 'forest_128x128_crop.png', src: 'forest2.jpg', op: { crop: [300, 120, 128, 128] }, copyright: 'Various (morgue-file.com donors), public domain' },
];

mkdirSync(join(ROOT, 'samples'), { recursive: true });
for (const s of SAMPLES) {
  const bytes = readFileSync(join(PKG, s.src));
  let img = sharp(bytes).removeAlpha();
  let how: string;
  if ('resize' in s.op) {
    img = img.resize(s.op.resize[0], s.op.resize[1], { kernel: 'lanczos3', fit: 'fill' });
    how = `resized to ${s.op.resize[0]}x${s.op.resize[1]} (lanczos3)`;
  } else {
    const [left, top, width, height] = s.op.crop;
    img = img.extract({ left, top, width, height });
    how = `crop x=${left} y=${top} ${width}x${height}`;
  }
  const png = await img.png({ compressionLevel: 9 }).toBuffer();
  const out = addPngText(png, {
    Source: `Debian endless-sky-data 0.9.8-1.2: usr/share/games/endless-sky/images/land/${s.src}`,
    SourceSha256: createHash('sha256').update(bytes).digest('hex'),
    License: 'public-domain (debian/copyright, Files: images/land/*)',
    Copyright: s.copyright,
    Processing: how,
  });
  writeFileSync(join(ROOT, 'samples', s.out), out);
  console.log(`${s.out}: ${how}, ${out.length} bytes`);
}
