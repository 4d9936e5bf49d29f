// Peak RSS and time of one VAE decode (or encode) with vae_small random weights, in a fresh process:
//   node dist/scripts/vae_tiled_rss.js SIZE untiled|exact [decode|encode] [bandElements]
// SIZE is the image side in pixels. Prints one JSON line.
import { manualSeed, noGrad, randn, tidy } from '../src/tensor_library.js';
import { createVAE } from '../src/models/presets.js';
import { tiledDecode, tiledEncode } from '../src/models/vae/index.js';

const [size, mode = 'exact', stage = 'decode', band] = process.argv.slice(2);
const px = Number(size);
if (!Number.isInteger(px) || px % 8 || !['untiled', 'exact'].includes(mode) || !['decode', 'encode'].includes(stage)) {
  console.error('usage: vae_tiled_rss SIZE untiled|exact [decode|encode] [bandElements]');
  process.exit(2);
}
manualSeed(0);
const vae = createVAE('vae_small');
vae.eval();
const opts = band ? { bandElements: Number(band) } : {};
const rssBefore = process.resourceUsage().maxRSS;
const t0 = performance.now();
noGrad(() => tidy(() => {
  if (stage === 'decode') {
    const z = randn([1, 4, px / 8, px / 8]);
    (mode === 'exact' ? tiledDecode(vae, z, opts) : vae.decode(z)).dispose();
  } else {
    const x = randn([1, 3, px, px]).clamp(-1, 1);
    (mode === 'exact' ? tiledEncode(vae, x, opts) : vae.encode(x)).dispose();
  }
}));
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ size: px, mode, stage, seconds: +seconds.toFixed(1), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), rssBeforeMB: Math.round(rssBefore / 1024) }));
