// Precision rows (issue 14): the bundled default model's networks and pipeline at fp32, bf16 and bf16 +
// channels_last, on both sides, so the report can set ours against PyTorch's default (fp32) and PyTorch's best.
//   ours  fp32: as the product runs by default; bf16: CPU autocast (convs and matmuls in bf16, GroupNorm statistics,
//         softmax and reductions in fp32), NCHW weights; bf16+CL: the same with channels_last weights and inputs
//         (what `--precision bf16` and `train.precision: bf16` use).
//   torch fp32: eager; bf16: torch.autocast('cpu', bfloat16) with LDM's GroupNorm32 (normalise in fp32, as the
//         reference's code does: 1.13's CPU autocast rejects group_norm on a bf16 input with fp32 weights);
//         bf16+CL: the same with model.to(memory_format=torch.channels_last) and channels_last inputs.
// Rows: UNet forward (a 256² output's 64² latent), UNet forward+backward and the flow training step (batch 8 of
// 32² latents, Adam + EMA, as configs/default/cfm.yaml), VAE encode and decode at 256², the autoencoder training
// step (batch 8 of 128² crops, L1 + KL, Adam, as configs/default/vae.yaml), and the 256→1024 upscale (Euler, 1 step,
// the bundle's weights). Weights are random inits except in the upscale row. Models: the bundle's configs.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { F, Generator, atPrecision, autocastBf16, dispose, keep, noGrad, rand, randn, tidy, type Tensor } from '../../src/tensor/index.js';
import { Adam, type Module } from '../../src/nn/index.js';
import { createUNet, createVAE, unetMacs, vaeMacs, type AutoencoderKL } from '../../src/models/index.js';
import { unetConfigToSnake } from '../../src/models/unet/index.js';
import { Upsampler } from '../../src/pipeline/index.js';
import { EMA } from '../../src/train/ema.js';
import { register, type BenchRow, type OursCase } from '../registry.js';
import type { TimingPlan } from '../timing.js';
import { benchModelPath, inspectBundle, pipelineFlops, testImage, type BundleInfo } from '../upscale_setup.js';

export const GROUP = 'precision';
export const VARIANTS = ['fp32', 'bf16', 'bf16+CL'] as const;
export type Variant = (typeof VARIANTS)[number];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const REF = join(ROOT, 'scripts', 'goldens');
const torchPrelude = `import sys\nsys.path.insert(0, ${JSON.stringify(REF)})\nsys.path.insert(0, ${JSON.stringify(join(ROOT, 'bench'))})\nimport models_reference as R\nR.autocast_groupnorm32()\ntorch.manual_seed(0)`;

const cl = (v: Variant) => v === 'bf16+CL';
const bf = (v: Variant) => v !== 'fp32';
/** Python: a context manager for the variant (autocast or nothing). */
const torchCtx = (v: Variant) => (bf(v) ? 'torch.autocast("cpu", dtype=torch.bfloat16)' : 'contextlib.nullcontext()');
/** Python: `x = cl(x)` for the variant's inputs and modules. */
const torchCl = (v: Variant, names: string[]) => (cl(v) ? names.map((n) => `${n} = ${n}.to(memory_format=torch.channels_last)`).join('\n') : '');

/** Our side of a variant: run `fn` under bf16 autocast when asked; modules and inputs channels_last for bf16+CL. */
function oursLayout(v: Variant, modules: Module[], inputs: Tensor[]): Tensor[] {
  if (cl(v)) for (const m of modules) m.toMemoryFormat('channels_last');
  const out = inputs.map((t) => keep(cl(v) && t.ndim === 4 ? t.contiguous('channels_last') : t.alias()));
  dispose(inputs);
  return out;
}
const at = <T>(v: Variant, fn: () => T): T => (bf(v) ? autocastBf16(fn) : fn());

function unetPy(info: BundleInfo): string {
  return JSON.stringify(unetConfigToSnake(info.unet)).replace(/true/g, 'True').replace(/false/g, 'False');
}

function vaePy(info: BundleInfo): string {
  const c = info.vae;
  return `R.VAE(dict(attn_type=${JSON.stringify(c.attnType)}, double_z=True, z_channels=${c.zChannels}, resolution=${c.resolution}, in_channels=${c.inChannels}, ` +
    `out_ch=${c.outCh}, ch=${c.ch}, ch_mult=${JSON.stringify(c.chMult)}, num_res_blocks=${c.numResBlocks}, attn_resolutions=${JSON.stringify(c.attnResolutions)}, dropout=0.0), ` +
    `${c.embedDim}, norm_groups=${c.normGroups}, shortcut=${c.shortcut === 'linear' ? '"linear"' : 'None'})`;
}

interface Spec {
  base: string;
  flops: number;
  notes: string;
  plan?: Partial<TimingPlan>;
  async?: boolean;
  ours(v: Variant): OursCase | Promise<OursCase>;
  torchSetup(v: Variant): string;
  torchStep(v: Variant): string;
}

function variants(s: Spec, skip?: string): BenchRow[] {
  return VARIANTS.map((v) => ({
    name: `${s.base} · ${v}`,
    group: GROUP,
    // the same setting on both sides: ours no slower than PyTorch's
    target: { maxRatio: 1.0 },
    flops: skip ? undefined : s.flops,
    notes: `${s.notes}; ${v === 'fp32' ? 'fp32 both sides' : v === 'bf16' ? 'bf16 autocast, NCHW, both sides' : 'bf16 autocast + channels_last weights and inputs, both sides'}`,
    plan: s.plan,
    quickPlan: s.plan ? { ...s.plan, minRounds: 1, maxRounds: 1 } : undefined,
    async: s.async,
    skip,
    setup: () => s.ours(v),
    torch: { setup: `${torchPrelude}\nimport contextlib\n${s.torchSetup(v)}`, step: s.torchStep(v) },
  }));
}

/** Rows of seconds per call: a warm-up and 3 rounds of one call per side (--quick: one round). */
const SLOW: Partial<TimingPlan> = { warmupCalls: 1, warmupSec: 0, roundSec: 0, sideSec: 0, minIters: 1, minRounds: 3, maxRounds: 3 };

export function precisionRows(model = benchModelPath()): BenchRow[] {
  const inspected = inspectBundle(model);
  const skip = 'skip' in inspected ? inspected.skip : undefined;
  if (!('info' in inspected)) return variants({ base: 'default model (missing)', flops: 0, notes: '', ours: () => ({ run() {}, dispose() {} }), torchSetup: () => '', torchStep: () => 'pass' }, skip);
  const info = inspected.info;
  const u = info.unet, lat = u.outChannels, ctxCh = u.inChannels - u.outChannels;
  const rows: BenchRow[] = [];

  // UNet forward at inference: one 64² latent (a 256² output)
  const S = 64;
  rows.push(...variants({
    base: `UNet fwd default [1,${lat}+${ctxCh},${S},${S}]`,
    flops: 2 * unetMacs(u, S),
    notes: 'no_grad',
    ours(v) {
      const net = createUNet(u).eval();
      const [x, ctx, t] = oursLayout(v, [net], [randn([1, lat, S, S]), randn([1, ctxCh, S, S]), rand([1])]);
      return { run: () => noGrad(() => tidy(() => { at(v, () => net.forward(x, t, ctx)); })), dispose: () => { net.dispose(); dispose([x, ctx, t]); } };
    },
    torchSetup: (v) => `net = R.UNet(**${unetPy(info)}).eval()\nx = torch.randn(1, ${lat}, ${S}, ${S}); ctx = torch.randn(1, ${ctxCh}, ${S}, ${S}); t = torch.rand(1)\n${torchCl(v, ['net', 'x', 'ctx'])}`,
    torchStep: (v) => `with torch.no_grad(), ${torchCtx(v)}:\n    net(x, t, context=ctx)`,
  }));

  // flow training step, as the trainer runs it (loss in fp32 on the autocast output)
  const B = 8, T = 32;
  rows.push(...variants({
    base: `flow train step default [${B},${lat}+${ctxCh},${T},${T}] Adam+EMA`,
    flops: 3 * 2 * B * unetMacs(u, T),
    notes: 'flow-matching MSE (t fresh each step) + backward + Adam + EMA lerp, as configs/default/cfm.yaml',
    ours(v) {
      const net = createUNet(u).train();
      const shadow = createUNet(u).eval();
      const [x0, x1, ctx] = oursLayout(v, [net, shadow], [randn([B, lat, T, T]), randn([B, lat, T, T]), randn([B, ctxCh, T, T])]);
      const opt = new Adam(net.parameters(), { lr: 1e-4 });
      const ema = new EMA(net, { shadow, maxDecay: 0.999, updateAfterStep: 0, updateEvery: 1, power: 0.75 });
      const g = new Generator(0);
      return {
        run: () => {
          opt.zeroGrad();
          tidy(() => {
            const t = rand([B], { generator: g });
            const tt = t.reshape([B, 1, 1, 1]);
            const xt = tt.mul(x1).add(tt.neg().add(1).mul(x0));
            const y = atPrecision(bf(v) ? 'bf16' : 'fp32', () => net.forward(xt, t, ctx));
            F.mseLoss(y, x1.sub(x0)).backward();
          });
          ema.update();
          opt.step();
        },
        dispose: () => { opt.zeroGrad(); opt.dispose(); ema.dispose(); shadow.dispose(); net.dispose(); dispose([x0, x1, ctx]); },
      };
    },
    torchSetup: (v) => `net = R.UNet(**${unetPy(info)}).train()\n${torchCl(v, ['net'])}\nopt = torch.optim.Adam(net.parameters(), lr=1e-4)\nema = [p.detach().clone() for p in net.parameters()]\n` +
      `x0 = torch.randn(${B}, ${lat}, ${T}, ${T}); x1 = torch.randn(${B}, ${lat}, ${T}, ${T}); ctx = torch.randn(${B}, ${ctxCh}, ${T}, ${T})\n${torchCl(v, ['x0', 'x1', 'ctx'])}`,
    torchStep: (v) => `opt.zero_grad(set_to_none=True)
t = torch.rand(${B})
tt = t.reshape(${B}, 1, 1, 1)
xt = tt * x1 + (1 - tt) * x0
with ${torchCtx(v)}:
    y = net(xt, t, context=ctx)
F.mse_loss(y.float(), x1 - x0).backward()
with torch.no_grad():
    for e, p in zip(ema, net.parameters()):
        e.lerp_(p, 0.001)
opt.step()`,
  }));

  // VAE encode / decode at 256²
  const P = 256, f = 2 ** (info.vae.chMult.length - 1), L = P / f;
  const macs = vaeMacs(info.vae, P);
  rows.push(...variants({
    base: `VAE encode ${info.vae.ch}-ch f${f}c${info.vae.embedDim} [1,3,${P},${P}]`,
    flops: 2 * macs.encode,
    notes: 'posterior (mean, logvar), no_grad',
    ours(v) {
      const vae = createVAE(info.vae).eval();
      const [img] = oursLayout(v, [vae], [tidy(() => rand([1, 3, P, P]).mul(2).sub(1))]);
      return { run: () => noGrad(() => tidy(() => { at(v, () => { const p = vae.encode(img); const m = p.mean.alias(); p.dispose(); return m; }); })), dispose: () => { vae.dispose(); img.dispose(); } };
    },
    torchSetup: (v) => `vae = ${vaePy(info)}.eval()\nimg = torch.rand(1, 3, ${P}, ${P}) * 2 - 1\n${torchCl(v, ['vae', 'img'])}`,
    torchStep: (v) => `with torch.no_grad(), ${torchCtx(v)}:\n    vae.encode(img)`,
  }));
  rows.push(...variants({
    base: `VAE decode ${info.vae.ch}-ch f${f}c${info.vae.embedDim} ${L}² → [1,3,${P},${P}]`,
    flops: 2 * macs.decode,
    notes: 'no_grad',
    ours(v) {
      const vae = createVAE(info.vae).eval();
      const [z] = oursLayout(v, [vae], [randn([1, info.vae.embedDim, L, L])]);
      return { run: () => noGrad(() => tidy(() => { at(v, () => vae.decode(z)); })), dispose: () => { vae.dispose(); z.dispose(); } };
    },
    torchSetup: (v) => `vae = ${vaePy(info)}.eval()\nz = torch.randn(1, ${info.vae.embedDim}, ${L}, ${L})\n${torchCl(v, ['vae', 'z'])}`,
    torchStep: (v) => `with torch.no_grad(), ${torchCtx(v)}:\n    vae.decode(z)`,
  }));

  // autoencoder training step (L1 + KL, Adam), batch 8 of 128² crops
  const AB = 8, AP = 128, amacs = vaeMacs(info.vae, AP);
  rows.push(...variants({
    base: `autoencoder train step ${info.vae.ch}-ch f${f}c${info.vae.embedDim} [${AB},3,${AP},${AP}] Adam`,
    flops: 3 * 2 * AB * (amacs.encode + amacs.decode),
    notes: 'posterior sample, L1 + 1e-6·KL (loss in fp32), backward, Adam',
    plan: SLOW,
    ours(v) {
      const vae: AutoencoderKL = createVAE(info.vae).train();
      const [x] = oursLayout(v, [vae], [tidy(() => rand([AB, 3, AP, AP]).mul(2).sub(1))]);
      const opt = new Adam(vae.parameters(), { lr: 1e-4 });
      const g = new Generator(0);
      return {
        run: () => {
          opt.zeroGrad();
          tidy(() => {
            const { rec, kl } = at(v, () => {
              const { decoded, posterior } = vae.forward(x, { samplePosterior: true, generator: g });
              try { return { rec: decoded.float(), kl: posterior.kl().float() }; } finally { posterior.dispose(); }
            });
            F.l1Loss(rec, x.float()).add(kl.mean().mul(1e-6 / (3 * AP * AP))).backward();
          });
          opt.step();
        },
        dispose: () => { opt.zeroGrad(); opt.dispose(); vae.dispose(); x.dispose(); },
      };
    },
    torchSetup: (v) => `vae = ${vaePy(info)}.train()\n${torchCl(v, ['vae'])}\nopt = torch.optim.Adam(vae.parameters(), lr=1e-4)\nx = torch.rand(${AB}, 3, ${AP}, ${AP}) * 2 - 1\n${torchCl(v, ['x'])}`,
    torchStep: (v) => `opt.zero_grad(set_to_none=True)
with ${torchCtx(v)}:
    post = vae.encode(x)
    z = post.mean + post.std * torch.randn(post.mean.shape)
    rec = vae.decode(z)
kl = 0.5 * torch.sum(post.mean.float() ** 2 + post.var.float() - 1.0 - post.logvar.float(), dim=[1, 2, 3])
(F.l1_loss(rec.float(), x) + kl.mean() * (1e-6 / (3 * ${AP} * ${AP}))).backward()
opt.step()`,
  }));

  // the whole 256 → 1024 upscale with the bundle's weights, 1 Euler step (the bundled model's default)
  const size = 1024 / info.flow.factor;
  rows.push(...variants({
    base: `upscale ${size}→1024 euler 1 step (bundled model)`,
    flops: pipelineFlops(info, size, 1),
    notes: `s/image of Upsampler.upsampleImage on a [3,${size},${size}] tensor (no PNG I/O), seed 0, untiled; torch: bench/torch_upscale.py; ours bf16 NCHW = the bf16 Upsampler with its weights put back to NCHW`,
    plan: SLOW,
    async: true,
    async ours(v) {
      const up = await Upsampler.load({ model, precision: bf(v) ? 'bf16' : 'fp32' });
      // the Upsampler lays bf16 weights out channels_last; the bf16 (NCHW) row puts them back
      if (v === 'bf16') for (const s of up.stages) { s.unet.toMemoryFormat('contiguous'); s.vae.toMemoryFormat('contiguous'); }
      const img = keep(testImage(size));
      return {
        run: async () => { (await up.upsampleImage(img, { steps: 1, solver: 'euler', seed: 0 })).dispose(); },
        dispose: () => { img.dispose(); up.dispose(); },
      };
    },
    torchSetup: (v) => `import torch_upscale as U\nm = U.Model(${JSON.stringify(model)})\n${cl(v) ? 'm.unet = m.unet.to(memory_format=torch.channels_last)\nm.vae = m.vae.to(memory_format=torch.channels_last)\n' : ''}img = U.test_image(${size})${cl(v) ? '.to(memory_format=torch.channels_last)' : ''}`,
    torchStep: (v) => `with ${torchCtx(v)}:\n    U.upsample(m, img, 2, seed=0)`,
  }));
  return rows;
}

register(...precisionRows());
