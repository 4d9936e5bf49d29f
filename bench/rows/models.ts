// Model rows: EfficientUNet forward and forward+backward, AutoencoderKL encode and decode, at the CPU presets
// (unet_small, vae_small) and at the paper's sizes (paper UNet on 64² latents, SD VAE to/from 512² images),
// against the same modules in PyTorch (scripts/goldens/models_reference.py, checked against the reference's
// fixtures by scripts/goldens/models_fixtures.py). Weights are the constructors' random inits on both sides.
// The paper-size rows take seconds to a minute per call: one warm-up (none for SD decode to 512²) and one timed
// call per side, and only with FMBOOST_BENCH_PAPER=1.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randn, rand, tidy, noGrad, keep, dispose } from '../../src/tensor/index.js';
import { createUNet, createVAE, unetMacs, vaeMacs, UNET_PRESETS, VAE_PRESETS } from '../../src/models/index.js';
import { unetConfigToSnake, resolveUNetConfig } from '../../src/models/unet/index.js';
import { register, type OursCase } from '../registry.js';
import type { TimingPlan } from '../timing.js';

const GROUP = 'models';
/** The target for the model rows: no slower than PyTorch. */
const TARGET = { maxRatio: 1.0 };
// dist/bench/rows → repository root.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const REF = join(ROOT, 'scripts', 'goldens');

/** One warm-up call and one timed call per side (rows of seconds per call). */
const ONE_SHOT: Partial<TimingPlan> = { warmupCalls: 1, warmupSec: 0, roundSec: 0, sideSec: 0, minIters: 1, minRounds: 1, maxRounds: 1 };
/** One timed call per side, no warm-up (SD decode to 512²: about a minute per call on 2 cores). */
const ONE_CALL: Partial<TimingPlan> = { ...ONE_SHOT, warmupCalls: 0 };

const torchPrelude = `import sys\nsys.path.insert(0, ${JSON.stringify(REF)})\nimport models_reference as R\ntorch.manual_seed(0)`;

function unetRows(preset: 'unet_small' | 'paper', batch: number, size: number, heavy: boolean, withBackward: boolean): void {
  const cfg = UNET_PRESETS[preset].config;
  const snake = JSON.stringify(unetConfigToSnake(resolveUNetConfig(cfg))).replace(/true/g, 'True').replace(/false/g, 'False');
  const xCh = cfg.outChannels, ctxCh = cfg.inChannels - cfg.outChannels;
  const flops = 2 * batch * unetMacs(cfg, size);
  const shape = `${preset} [${batch},${xCh}+${ctxCh},${size},${size}]`;
  const torchSetup = `${torchPrelude}\nnet = R.UNet(**${snake})\nx = torch.randn(${batch}, ${xCh}, ${size}, ${size})\nctx = torch.randn(${batch}, ${ctxCh}, ${size}, ${size})\nt = torch.rand(${batch})\ngy = torch.randn(${batch}, ${cfg.outChannels}, ${size}, ${size})`;
  const inputs = () => ({
    x: keep(randn([batch, xCh, size, size])), ctx: keep(randn([batch, ctxCh, size, size])), t: keep(rand([batch])),
    gy: keep(randn([batch, cfg.outChannels, size, size])),
  });
  register({
    name: `UNet fwd ${shape}`,
    group: GROUP,
    target: TARGET,
    flops,
    plan: heavy ? ONE_SHOT : undefined,
    notes: `inference (no_grad)${heavy ? '; 1 warm-up + 1 timed call per side' : ''}`,
    setup(): OursCase {
      const net = createUNet(preset).eval();
      const { x, ctx, t, gy } = inputs();
      return { run: () => noGrad(() => tidy(() => { net.forward(x, t, ctx); })), dispose: () => { net.dispose(); dispose([x, ctx, t, gy]); } };
    },
    torch: { setup: `${torchSetup}\nnet.eval()`, step: `with torch.no_grad():\n    net(x, t, context=ctx)` },
  });
  if (!withBackward) return;
  register({
    name: `UNet fwd+bwd ${shape}`,
    group: GROUP,
    target: TARGET,
    flops: 3 * flops,
    plan: heavy ? ONE_SHOT : undefined,
    notes: `gradients of every parameter, set to None after each call${heavy ? '; 1 warm-up + 1 timed call per side' : ''}`,
    setup(): OursCase {
      const net = createUNet(preset).train();
      const { x, ctx, t, gy } = inputs();
      return {
        run: () => {
          tidy(() => { net.forward(x, t, ctx).backward(gy); });
          net.zeroGrad();
        },
        dispose: () => { net.zeroGrad(); net.dispose(); dispose([x, ctx, t, gy]); },
      };
    },
    torch: { setup: `${torchSetup}\nnet.train()`, step: `net(x, t, context=ctx).backward(gy)\nnet.zero_grad(set_to_none=True)` },
  });
}

function vaeRows(preset: 'vae_small' | 'sd', pixels: number, which: ('encode' | 'decode')[], plan?: Partial<TimingPlan>): void {
  const cfg = VAE_PRESETS[preset].config;
  const f = 2 ** (cfg.chMult.length - 1);
  const lat = pixels / f;
  const macs = vaeMacs(cfg, pixels);
  const dd = `dict(attn_type='vanilla', double_z=True, z_channels=${cfg.zChannels}, resolution=${cfg.resolution}, in_channels=${cfg.inChannels}, ` +
    `out_ch=${cfg.outCh}, ch=${cfg.ch}, ch_mult=${JSON.stringify(cfg.chMult)}, num_res_blocks=${cfg.numResBlocks}, attn_resolutions=${JSON.stringify(cfg.attnResolutions)}, dropout=0.0)`;
  const torchSetup = `${torchPrelude}\nvae = R.VAE(${dd}, ${cfg.embedDim}).eval()\nimg = torch.rand(1, ${cfg.inChannels}, ${pixels}, ${pixels}) * 2 - 1\nz = torch.randn(1, ${cfg.embedDim}, ${lat}, ${lat})`;
  const note = !plan ? '' : plan.warmupCalls ? '; 1 warm-up + 1 timed call per side' : '; 1 timed call per side, no warm-up';
  if (which.includes('encode')) {
    register({
      name: `VAE encode ${preset} [1,3,${pixels},${pixels}] → ${lat}²`,
      group: GROUP,
      target: TARGET,
      flops: 2 * macs.encode,
      plan,
      notes: `posterior (mean, logvar) of one image, no_grad${note}`,
      setup(): OursCase {
        const vae = createVAE(preset).eval();
        const img = keep(tidy(() => rand([1, cfg.inChannels, pixels, pixels]).mul(2).sub(1)));
        return { run: () => noGrad(() => tidy(() => { vae.encode(img).dispose(); })), dispose: () => { vae.dispose(); img.dispose(); } };
      },
      torch: { setup: torchSetup, step: `with torch.no_grad():\n    vae.encode(img)` },
    });
  }
  if (which.includes('decode')) {
    register({
      name: `VAE decode ${preset} ${lat}² → [1,3,${pixels},${pixels}]`,
      group: GROUP,
      target: TARGET,
      flops: 2 * macs.decode,
      plan,
      notes: `one latent, no_grad${note}`,
      setup(): OursCase {
        const vae = createVAE(preset).eval();
        const z = keep(randn([1, cfg.embedDim, lat, lat]));
        return { run: () => noGrad(() => tidy(() => { vae.decode(z); })), dispose: () => { vae.dispose(); z.dispose(); } };
      },
      torch: { setup: torchSetup, step: `with torch.no_grad():\n    vae.decode(z)` },
    });
  }
}

unetRows('unet_small', 4, 32, false, true);
vaeRows('vae_small', 256, ['encode', 'decode']);
// The paper-size rows take minutes in all: only with FMBOOST_BENCH_PAPER=1, so a plain `npm run bench` stays short.
if (process.env.FMBOOST_BENCH_PAPER === '1') {
  unetRows('paper', 1, 64, true, true);
  vaeRows('sd', 256, ['encode'], ONE_SHOT);
  vaeRows('sd', 512, ['decode'], ONE_CALL);
}
