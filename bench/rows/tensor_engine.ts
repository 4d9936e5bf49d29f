// Tensor-engine rows: the ops and the block a UNet spends its time in, written with our
// Tensor / F / nn API as a model would, each beside the PyTorch code it must keep up with.
import { Tensor, F, randn, tidy, noGrad, keep, dispose } from '../../src/tensor/index.js';
import * as nn from '../../src/nn/index.js';
import { register, type OursCase } from '../registry.js';

const GROUP = 'tensor';

/** Tensors made once per row and freed by the case's dispose(). */
function kept<T extends Tensor>(t: T): T {
  return keep(t);
}

function conv3x3Flops(n: number, cin: number, cout: number, h: number, w: number): number {
  return 2 * n * cout * h * w * cin * 9;
}

// ---------------------------------------------------------------- per-op call overhead
const OPS = 200;
register({
  name: `per-op overhead: add of two 1-element tensors (×${OPS})`,
  group: GROUP,
  opsPerCall: OPS,
  target: { maxUsPerOp: 10 },
  notes: 'each result freed: ours by tidy() at the end of the call, torch by refcount',
  setup(): OursCase {
    const a = kept(randn([1])), b = kept(randn([1]));
    return {
      run: () => tidy(() => { for (let i = 0; i < OPS; i++) a.add(b); }),
      dispose: () => dispose([a, b]),
    };
  },
  torch: {
    setup: `a = torch.randn(1); b = torch.randn(1)`,
    step: `for _ in range(${OPS}):\n    torch.add(a, b)`,
  },
});

// ---------------------------------------------------------------- matmul
{
  const n = 1024;
  register({
    name: `matmul ${n}×${n} @ ${n}×${n}`,
    group: GROUP,
    flops: 2 * n ** 3,
    setup(): OursCase {
      const a = kept(randn([n, n])), b = kept(randn([n, n]));
      return { run: () => tidy(() => { a.matmul(b); }), dispose: () => dispose([a, b]) };
    },
    torch: { setup: `a = torch.randn(${n}, ${n}); b = torch.randn(${n}, ${n})`, step: `a @ b` },
  });
}

// ---------------------------------------------------------------- conv2d 3×3
{
  const [N, C, H, W] = [8, 128, 32, 32];
  const flops = conv3x3Flops(N, C, C, H, W);
  const shape = `[${N},${C},${H},${W}] ${C}→${C}`;
  const torchSetup = `conv = nn.Conv2d(${C}, ${C}, 3, padding=1)\nx = torch.randn(${N}, ${C}, ${H}, ${W})\ngy = torch.randn(${N}, ${C}, ${H}, ${W})`;
  register({
    name: `conv2d 3×3 fwd ${shape}`,
    group: GROUP,
    flops,
    notes: 'inference (no_grad)',
    setup(): OursCase {
      const conv = new nn.Conv2d({ inChannels: C, outChannels: C, kernelSize: 3, padding: 1 });
      const x = kept(randn([N, C, H, W]));
      return { run: () => noGrad(() => tidy(() => { conv.forward(x); })), dispose: () => { conv.dispose(); x.dispose(); } };
    },
    torch: { setup: torchSetup, step: `with torch.no_grad():\n    conv(x)` },
  });
  register({
    name: `conv2d 3×3 fwd+bwd ${shape}`,
    group: GROUP,
    flops: 3 * flops,
    notes: 'grads of input, weight and bias; grads reset to None after each call',
    setup(): OursCase {
      const conv = new nn.Conv2d({ inChannels: C, outChannels: C, kernelSize: 3, padding: 1 });
      const x = kept(randn([N, C, H, W])).requiresGrad_();
      const gy = kept(randn([N, C, H, W]));
      return {
        run: () => {
          tidy(() => { conv.forward(x).backward(gy); });
          x.grad = null;
          conv.zeroGrad();
        },
        dispose: () => { conv.dispose(); dispose([x, gy]); },
      };
    },
    torch: {
      setup: torchSetup + `\nx.requires_grad_()`,
      step: `conv(x).backward(gy)\nx.grad = None\nconv.zero_grad(set_to_none=True)`,
    },
  });
}

// ---------------------------------------------------------------- group_norm
{
  const [N, C, H, W, G] = [8, 128, 32, 32, 32];
  const shape = `[${N},${C},${H},${W}] ${G} groups`;
  const torchSetup = `gn = nn.GroupNorm(${G}, ${C})\nx = torch.randn(${N}, ${C}, ${H}, ${W})\ngy = torch.randn(${N}, ${C}, ${H}, ${W})`;
  register({
    name: `group_norm fwd ${shape}`,
    group: GROUP,
    notes: 'inference (no_grad)',
    setup(): OursCase {
      const gn = new nn.GroupNorm({ numGroups: G, numChannels: C });
      const x = kept(randn([N, C, H, W]));
      return { run: () => noGrad(() => tidy(() => { gn.forward(x); })), dispose: () => { gn.dispose(); x.dispose(); } };
    },
    torch: { setup: torchSetup, step: `with torch.no_grad():\n    gn(x)` },
  });
  register({
    name: `group_norm fwd+bwd ${shape}`,
    group: GROUP,
    setup(): OursCase {
      const gn = new nn.GroupNorm({ numGroups: G, numChannels: C });
      const x = kept(randn([N, C, H, W])).requiresGrad_();
      const gy = kept(randn([N, C, H, W]));
      return {
        run: () => {
          tidy(() => { gn.forward(x).backward(gy); });
          x.grad = null;
          gn.zeroGrad();
        },
        dispose: () => { gn.dispose(); dispose([x, gy]); },
      };
    },
    torch: {
      setup: torchSetup + `\nx.requires_grad_()`,
      step: `gn(x).backward(gy)\nx.grad = None\ngn.zero_grad(set_to_none=True)`,
    },
  });
}

// ---------------------------------------------------------------- attention (matmul + softmax)
{
  const [B, Hh, L, D] = [4, 4, 1024, 64];
  const flops = 2 * (2 * B * Hh * L * L * D); // q·kᵀ and attn·v
  const shape = `b=${B} heads=${Hh} L=${L} d=${D}`;
  // libtorch 1.13 has no fused scaled_dot_product_attention: both sides run scale·q @ kᵀ, softmax, @ v.
  const torchSetup = [
    `q, k, v = (torch.randn(${B}, ${Hh}, ${L}, ${D}) for _ in range(3))`,
    `gy = torch.randn(${B}, ${Hh}, ${L}, ${D})`,
    `def attention(q, k, v):`,
    `    scale = 1 / math.sqrt(q.shape[-1])`,
    `    return torch.softmax((q * scale) @ k.transpose(-2, -1), dim=-1) @ v`,
  ].join('\n');
  register({
    name: `attention fwd ${shape}`,
    group: GROUP,
    flops,
    notes: 'matmul + softmax path (no fused op in libtorch 1.13); inference (no_grad)',
    setup(): OursCase {
      const [q, k, v] = [0, 1, 2].map(() => kept(randn([B, Hh, L, D])));
      return { run: () => noGrad(() => tidy(() => { F.scaledDotProductAttention(q, k, v); })), dispose: () => dispose([q, k, v]) };
    },
    torch: { setup: torchSetup, step: `with torch.no_grad():\n    attention(q, k, v)` },
  });
  register({
    name: `attention fwd+bwd ${shape}`,
    group: GROUP,
    flops: 3 * flops,
    notes: 'grads of q, k, v',
    setup(): OursCase {
      const qkv = [0, 1, 2].map(() => kept(randn([B, Hh, L, D])).requiresGrad_());
      const gy = kept(randn([B, Hh, L, D]));
      const [q, k, v] = qkv;
      return {
        run: () => {
          tidy(() => { F.scaledDotProductAttention(q, k, v).backward(gy); });
          for (const t of qkv) t.grad = null;
        },
        dispose: () => dispose([...qkv, gy]),
      };
    },
    torch: {
      setup: torchSetup + `\nfor t in (q, k, v): t.requires_grad_()`,
      step: `attention(q, k, v).backward(gy)\nq.grad = k.grad = v.grad = None`,
    },
  });
}

// ---------------------------------------------------------------- ADM-style ResBlock
/** GroupNorm(32) → SiLU → conv3 → + Linear(SiLU(emb)) → GroupNorm → SiLU → conv3 → + skip (ADM, dropout 0). */
class ResBlock extends nn.Module {
  readonly norm1: nn.GroupNorm;
  readonly conv1: nn.Conv2d;
  readonly embProj: nn.Linear;
  readonly norm2: nn.GroupNorm;
  readonly conv2: nn.Conv2d;
  constructor(channels: number, embDim: number) {
    super();
    this.norm1 = this.registerModule('norm1', new nn.GroupNorm({ numGroups: 32, numChannels: channels }));
    this.conv1 = this.registerModule('conv1', new nn.Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1 }));
    this.embProj = this.registerModule('emb_proj', new nn.Linear({ inFeatures: embDim, outFeatures: channels }));
    this.norm2 = this.registerModule('norm2', new nn.GroupNorm({ numGroups: 32, numChannels: channels }));
    this.conv2 = this.registerModule('conv2', new nn.Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, padding: 1 }));
  }
  forward(x: Tensor, emb: Tensor): Tensor {
    return tidy(() => {
      let h = this.conv1.forward(F.silu(this.norm1.forward(x)));
      const e = this.embProj.forward(F.silu(emb));
      h = h.add(e.reshape([e.shape[0], e.shape[1], 1, 1]));
      h = this.conv2.forward(F.silu(this.norm2.forward(h)));
      return x.add(h);
    });
  }
}

{
  const [B, C, H, W] = [4, 128, 32, 32];
  const E = 4 * C; // ADM's time-embedding width
  const flops = 2 * conv3x3Flops(B, C, C, H, W) + 2 * B * E * C;
  const shape = `C=${C} ${H}×${W} batch ${B} emb ${E}`;
  const torchSetup = [
    `class ResBlock(nn.Module):`,
    `    def __init__(self, c, e):`,
    `        super().__init__()`,
    `        self.norm1 = nn.GroupNorm(32, c)`,
    `        self.conv1 = nn.Conv2d(c, c, 3, padding=1)`,
    `        self.emb_proj = nn.Linear(e, c)`,
    `        self.norm2 = nn.GroupNorm(32, c)`,
    `        self.conv2 = nn.Conv2d(c, c, 3, padding=1)`,
    `    def forward(self, x, emb):`,
    `        h = self.conv1(F.silu(self.norm1(x)))`,
    `        h = h + self.emb_proj(F.silu(emb))[:, :, None, None]`,
    `        h = self.conv2(F.silu(self.norm2(h)))`,
    `        return x + h`,
    `block = ResBlock(${C}, ${E})`,
    `x = torch.randn(${B}, ${C}, ${H}, ${W}); emb = torch.randn(${B}, ${E}); gy = torch.randn(${B}, ${C}, ${H}, ${W})`,
  ].join('\n');
  register({
    name: `ResBlock (ADM) fwd ${shape}`,
    group: GROUP,
    flops,
    notes: 'inference (no_grad)',
    setup(): OursCase {
      const block = new ResBlock(C, E);
      const x = kept(randn([B, C, H, W])), emb = kept(randn([B, E]));
      return { run: () => noGrad(() => tidy(() => { block.forward(x, emb); })), dispose: () => { block.dispose(); dispose([x, emb]); } };
    },
    torch: { setup: torchSetup, step: `with torch.no_grad():\n    block(x, emb)` },
  });
  register({
    name: `ResBlock (ADM) fwd+bwd ${shape}`,
    group: GROUP,
    flops: 3 * flops,
    notes: 'grads of input, embedding and all parameters',
    setup(): OursCase {
      const block = new ResBlock(C, E);
      const x = kept(randn([B, C, H, W])).requiresGrad_(), emb = kept(randn([B, E])).requiresGrad_();
      const gy = kept(randn([B, C, H, W]));
      return {
        run: () => {
          tidy(() => { block.forward(x, emb).backward(gy); });
          x.grad = null;
          emb.grad = null;
          block.zeroGrad();
        },
        dispose: () => { block.dispose(); dispose([x, emb, gy]); },
      };
    },
    torch: {
      setup: torchSetup + `\nx.requires_grad_(); emb.requires_grad_()`,
      step: `block(x, emb).backward(gy)\nx.grad = emb.grad = None\nblock.zero_grad(set_to_none=True)`,
    },
  });
}
