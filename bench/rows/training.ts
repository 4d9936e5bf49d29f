// Training-step rows: one full optimizer step of the flow model as the trainer runs it — flow-matching
// loss (x_t = t·x1 + (1 − t)·x0, target x1 − x0, MSE) through the UNet with the context concatenated,
// backward, Adam step, EMA lerp of every parameter — for unet_small at 32² latents (256 px images),
// batch 4, against the same step in PyTorch (R.UNet from scripts/goldens/models_reference.py,
// torch.optim.Adam, torch.lerp EMA). Also the autoencoder step (vae_small, L1 + KL, 128 px, batch 2).
// Data loading is not in these rows: `fmboost train` logs the share of step time spent waiting for
// data as perf/data_wait_frac in metrics.csv.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randn, rand, tidy, keep, dispose, F, Generator } from '../../src/tensor/index.js';
import { Adam } from '../../src/nn/index.js';
import { createUNet, createVAE, unetMacs, vaeMacs, UNET_PRESETS, VAE_PRESETS } from '../../src/models/index.js';
import { unetConfigToSnake, resolveUNetConfig } from '../../src/models/unet/index.js';
import { EMA } from '../../src/train/ema.js';
import { register, type OursCase } from '../registry.js';

const GROUP = 'training';
const TARGET = { maxRatio: 1.05 };
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const REF = join(ROOT, 'scripts', 'goldens');
const torchPrelude = `import sys\nsys.path.insert(0, ${JSON.stringify(REF)})\nimport models_reference as R\ntorch.manual_seed(0)`;

function flowStepRow(batch: number, size: number): void {
  const cfg = UNET_PRESETS.unet_small.config;
  const snake = JSON.stringify(unetConfigToSnake(resolveUNetConfig(cfg))).replace(/true/g, 'True').replace(/false/g, 'False');
  const c = cfg.outChannels, cc = cfg.inChannels - cfg.outChannels;
  register({
    name: `flow train step unet_small [${batch},${c}+${cc},${size},${size}] Adam+EMA`,
    group: GROUP,
    target: TARGET,
    flops: 3 * 2 * batch * unetMacs(cfg, size),
    notes: 'loss + backward + Adam + EMA lerp (fresh t each step); steps/s = 1 / time',
    setup(): OursCase {
      const net = createUNet('unet_small').train();
      const opt = new Adam(net.parameters(), { lr: 1e-4 });
      // the EMA weights live in a second UNet, as in the trainer
      const shadow = createUNet('unet_small').eval();
      const ema = new EMA(net, { shadow, maxDecay: 0.999, updateAfterStep: 0, updateEvery: 1, power: 0.75 });
      const g = new Generator(0);
      const x0 = keep(randn([batch, c, size, size])), x1 = keep(randn([batch, c, size, size])), ctx = keep(randn([batch, cc, size, size]));
      return {
        run: () => {
          opt.zeroGrad();
          tidy(() => {
            const t = rand([batch], { generator: g });
            const tt = t.reshape([batch, 1, 1, 1]);
            const xt = tt.mul(x1).add(tt.neg().add(1).mul(x0));
            F.mseLoss(net.forward(xt, t, ctx), x1.sub(x0)).backward();
          });
          opt.step();
          ema.update();
        },
        dispose: () => { opt.zeroGrad(); opt.dispose(); ema.dispose(); shadow.dispose(); net.dispose(); dispose([x0, x1, ctx]); },
      };
    },
    torch: {
      setup: `${torchPrelude}
net = R.UNet(**${snake}).train()
opt = torch.optim.Adam(net.parameters(), lr=1e-4)
ema = [p.detach().clone() for p in net.parameters()]
x0 = torch.randn(${batch}, ${c}, ${size}, ${size}); x1 = torch.randn(${batch}, ${c}, ${size}, ${size}); ctx = torch.randn(${batch}, ${cc}, ${size}, ${size})`,
      step: `opt.zero_grad(set_to_none=True)
t = torch.rand(${batch})
tt = t.reshape(${batch}, 1, 1, 1)
xt = tt * x1 + (1 - tt) * x0
F.mse_loss(net(xt, t, context=ctx), x1 - x0).backward()
opt.step()
with torch.no_grad():
    for e, p in zip(ema, net.parameters()):
        e.lerp_(p, 0.001)`,
    },
  });
}

function aeStepRow(batch: number, pixels: number): void {
  const cfg = VAE_PRESETS.vae_small.config;
  const macs = vaeMacs(cfg, pixels);
  const dd = `dict(attn_type='vanilla', double_z=True, z_channels=${cfg.zChannels}, resolution=${cfg.resolution}, in_channels=${cfg.inChannels}, ` +
    `out_ch=${cfg.outCh}, ch=${cfg.ch}, ch_mult=${JSON.stringify(cfg.chMult)}, num_res_blocks=${cfg.numResBlocks}, attn_resolutions=${JSON.stringify(cfg.attnResolutions)}, dropout=0.0)`;
  register({
    name: `autoencoder train step vae_small [${batch},3,${pixels},${pixels}] Adam`,
    group: GROUP,
    target: TARGET,
    flops: 3 * 2 * batch * (macs.encode + macs.decode),
    notes: 'posterior sample, L1 + 1e-6·KL, backward, Adam',
    setup(): OursCase {
      const vae = createVAE('vae_small').train();
      const opt = new Adam(vae.parameters(), { lr: 1e-4 });
      const g = new Generator(0);
      const x = keep(tidy(() => rand([batch, 3, pixels, pixels]).mul(2).sub(1)));
      return {
        run: () => {
          opt.zeroGrad();
          tidy(() => {
            const { decoded, posterior } = vae.forward(x, { samplePosterior: true, generator: g });
            try {
              F.l1Loss(decoded, x).add(posterior.kl().mean().mul(1e-6 / (3 * pixels * pixels))).backward();
            } finally { posterior.dispose(); }
          });
          opt.step();
        },
        dispose: () => { opt.zeroGrad(); opt.dispose(); vae.dispose(); x.dispose(); },
      };
    },
    torch: {
      setup: `${torchPrelude}
vae = R.VAE(${dd}, ${cfg.embedDim}).train()
opt = torch.optim.Adam(vae.parameters(), lr=1e-4)
x = torch.rand(${batch}, 3, ${pixels}, ${pixels}) * 2 - 1`,
      step: `opt.zero_grad(set_to_none=True)
m = vae.quant_conv(vae.encoder(x))
mean, logvar = torch.chunk(m, 2, dim=1)
logvar = torch.clamp(logvar, -30.0, 20.0)
std = torch.exp(0.5 * logvar)
z = mean + std * torch.randn(mean.shape)
rec = vae.decoder(vae.post_quant_conv(z))
kl = 0.5 * torch.sum(mean.pow(2) + torch.exp(logvar) - 1.0 - logvar, dim=[1, 2, 3])
(F.l1_loss(rec, x) + kl.mean() * (1e-6 / (3 * ${pixels} * ${pixels}))).backward()
opt.step()`,
    },
  });
}

flowStepRow(4, 32);
aeStepRow(2, 128);
