#!/usr/bin/python3
"""PyTorch re-implementation of fmboost's Stable Diffusion 1.x UNet (src/models/sd/*.ts: CompVis/stable-diffusion's
UNetModel with SpatialTransformers), written from that architecture for the PyTorch side of the bench's SD rows
(bench/rows/sd_unet.ts, bench/torch_sd_unet.py). Nothing of the reference code is copied.

Module tree and state_dict keys are those of src/models/sd (= the reference's): time_embed.{0,2}[.cond_proj],
input_blocks.i.j, middle_block.{0,1,2}, output_blocks.i.j, out.{0,2}. ResBlock, Down(sample) and Up(sample) are
models_reference's (the same openaimodel code as the EfficientUNet's). One addition, as in src/models/sd/config.ts:
norm_groups (the reference always uses 32) so that tiny fixtures can be checked. Attention is softmax((q·d^-½) kᵀ) v,
what our side computes (libtorch 1.13 has no fused attention on either side).

Run as a script, it checks itself against the reference's fixtures (made by scripts/goldens/sd_unet_fixtures.py
from CompVis' code):
  /usr/bin/python3 scripts/goldens/sd_reference.py      (prints max |Δ| per fixture output; exit 1 above 1e-5)
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models_reference as R  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "models", "sd")


class CrossAttention(nn.Module):
    def __init__(self, query_dim, context_dim=None, heads=8, dim_head=64, dropout=0.0):
        super().__init__()
        inner = heads * dim_head
        ctx = context_dim or query_dim
        self.heads, self.dim_head = heads, dim_head
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(ctx, inner, bias=False)
        self.to_v = nn.Linear(ctx, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(dropout))

    def forward(self, x, context=None):
        ctx = x if context is None else context
        b, n, _ = x.shape
        m = ctx.shape[1]
        split = lambda t: t.reshape(b, t.shape[1], self.heads, self.dim_head).transpose(1, 2)  # [b, h, L, d]
        q, k, v = split(self.to_q(x)), split(self.to_k(ctx)), split(self.to_v(ctx))
        w = torch.softmax((q * self.dim_head ** -0.5) @ k.transpose(-1, -2), dim=-1)
        R.MACS["n"] += 2 * self.heads * n * m * self.dim_head
        h = (w @ v).transpose(1, 2).reshape(b, n, self.heads * self.dim_head)
        return self.to_out(h)


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, 2 * dim_out)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4, dropout=0.0):
        super().__init__()
        inner = int(dim * mult)
        self.net = nn.Sequential(GEGLU(dim, inner), nn.Dropout(dropout), nn.Linear(inner, dim))

    def forward(self, x):
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, dim_head, context_dim, dropout):
        super().__init__()
        # registration order = state_dict order of the reference: attn1, ff, attn2, norm1..3
        self.attn1 = CrossAttention(dim, None, heads, dim_head, dropout)
        self.ff = FeedForward(dim, 4, dropout)
        self.attn2 = CrossAttention(dim, context_dim, heads, dim_head, dropout)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    def __init__(self, ch, heads, dim_head, depth, context_dim, dropout, groups):
        super().__init__()
        inner = heads * dim_head
        self.inner = inner
        self.norm = nn.GroupNorm(groups, ch, eps=1e-6)
        self.proj_in = nn.Conv2d(ch, inner, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(inner, heads, dim_head, context_dim, dropout) for _ in range(depth)])
        self.proj_out = R.zeroed(nn.Conv2d(inner, ch, 1))

    def forward(self, x, context):
        b, _, h, w = x.shape
        t = self.proj_in(self.norm(x)).reshape(b, self.inner, h * w).transpose(1, 2)  # [b, hw, inner]
        for blk in self.transformer_blocks:
            t = blk(t, context)
        return self.proj_out(t.transpose(1, 2).reshape(b, self.inner, h, w)) + x


class TimeEmbed(nn.Sequential):
    """Linear -> SiLU -> Linear; with LCM's guidance embedding also cond_proj (bias-free, added to the sinusoidal
    embedding first), stored as time_embed.cond_proj.weight as in src/models/sd/unet.ts."""

    def __init__(self, mc, T, cond_dim):
        super().__init__(nn.Linear(mc, T), nn.SiLU(), nn.Linear(T, T))
        if cond_dim:
            self.cond_proj = nn.Linear(cond_dim, mc, bias=False)

    def forward(self, t_emb, cond=None):
        if cond is not None:
            t_emb = t_emb + self.cond_proj(cond)
        for i in range(3):
            t_emb = self[i](t_emb)
        return t_emb


class Seq(nn.ModuleList):
    def forward(self, x, emb, context):
        for m in self:
            if isinstance(m, R.ResBlock):
                x = m(x, emb)
            elif isinstance(m, SpatialTransformer):
                x = m(x, context)
            else:
                x = m(x)
        return x


_LAYER_NORM_FORWARD = nn.LayerNorm.forward


def _layer_norm32(self, x):
    if x.dtype == torch.float32:
        return _LAYER_NORM_FORWARD(self, x)
    return F.layer_norm(x.float(), self.normalized_shape, self.weight, self.bias, self.eps)


def autocast_layernorm32():
    """Every nn.LayerNorm normalises a reduced-precision input in fp32 (and returns fp32, as CUDA autocast's fp32 ops
    do). Needed for bf16 autocast on the CPU: torch 1.13 rejects layer_norm on a bf16 input with fp32 weights; ours
    (src/tensor/functional.ts layerNorm) does the same. fp32 inputs run the original forward unchanged."""
    nn.LayerNorm.forward = _layer_norm32


class SDUNet(nn.Module):
    def __init__(self, in_channels, out_channels, model_channels, attention_resolutions, num_res_blocks, context_dim,
                 channel_mult=(1, 2, 4, 8), num_heads=None, num_head_channels=None, transformer_depth=1, dropout=0.0,
                 conv_resample=True, norm_groups=32, time_cond_proj_dim=None):
        super().__init__()
        mc, G, T = model_channels, norm_groups, 4 * model_channels
        assert (num_heads is None) != (num_head_channels is None), "give exactly one of num_heads, num_head_channels"
        self.mc = mc
        res = lambda ci, co=None: R.ResBlock(ci, T, dropout, co, False, G)

        def transformer(ch):
            heads, dim_head = (ch // num_head_channels, num_head_channels) if num_head_channels else (num_heads, ch // num_heads)
            return SpatialTransformer(ch, heads, dim_head, transformer_depth, context_dim, dropout, G)

        self.time_embed = TimeEmbed(mc, T, time_cond_proj_dim)
        self.input_blocks = nn.ModuleList([Seq([nn.Conv2d(in_channels, mc, 3, padding=1)])])
        chans, ch, ds = [mc], mc, 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers = [res(ch, mult * mc)]
                ch = mult * mc
                if ds in attention_resolutions:
                    layers.append(transformer(ch))
                self.input_blocks.append(Seq(layers))
                chans.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(Seq([R.Down(ch, conv_resample)]))
                chans.append(ch)
                ds *= 2
        self.middle_block = Seq([res(ch), transformer(ch), res(ch)])
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                layers = [res(ch + chans.pop(), mc * mult)]
                ch = mc * mult
                if ds in attention_resolutions:
                    layers.append(transformer(ch))
                if level and i == num_res_blocks:
                    layers.append(R.Up(ch, conv_resample))
                    ds //= 2
                self.output_blocks.append(Seq(layers))
        self.out = nn.Sequential(nn.GroupNorm(G, ch), nn.SiLU(), R.zeroed(nn.Conv2d(mc, out_channels, 3, padding=1)))

    def forward(self, x, timesteps, context, timestep_cond=None):
        emb = self.time_embed(R.sinusoidal(timesteps, self.mc), timestep_cond)
        hs, h = [], x
        for b in self.input_blocks:
            h = b(h, emb, context)
            hs.append(h)
        h = self.middle_block(h, emb, context)
        for b in self.output_blocks:
            h = b(torch.cat([h, hs.pop()], dim=1), emb, context)
        return self.out(h)


def from_config(cfg):
    """An SDUNet from a config in snake_case (a fixture's .json config, or our resolved config)."""
    keep = ("in_channels", "out_channels", "model_channels", "attention_resolutions", "num_res_blocks", "context_dim", "channel_mult",
            "num_heads", "num_head_channels", "transformer_depth", "dropout", "conv_resample", "norm_groups", "time_cond_proj_dim")
    unknown = set(cfg) - set(keep)
    if unknown:
        raise ValueError("SDUNet config: unknown keys %s" % sorted(unknown))
    return SDUNet(**cfg)


def count_macs(cfg, size, ctx_len):
    """MACs of one forward for one sample, counted by forward hooks (convs, linears per token) plus the attention
    products counted in CrossAttention: what bench/sd_unet_setup.ts's sdUnetMacs computes analytically."""
    net = from_config(cfg).eval()
    n = {"lin": 0, "conv": 0}

    def conv_hook(m, inp, out):
        n["conv"] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def lin_hook(m, inp, out):
        n["lin"] += inp[0].numel() // inp[0].shape[0] // m.in_features * m.in_features * m.out_features

    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(lin_hook)
    R.MACS["n"] = 0
    with torch.no_grad():
        net(torch.randn(1, cfg["in_channels"], size, size), torch.tensor([TIMESTEP_FOR_MACS]), torch.randn(1, ctx_len, cfg["context_dim"]))
    return n["conv"] + n["lin"] + R.MACS["n"]


TIMESTEP_FOR_MACS = 981.0


def read_fixture(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    head.pop("__metadata__", None)
    out = {}
    for k, e in head.items():
        assert e["dtype"] == "F32", (k, e["dtype"])
        a, b = e["data_offsets"]
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(e["shape"])
    return out


def check_fixture(name):
    """max |ours − stored| for each stored forward output of tests/fixtures/models/sd/<name>."""
    side = json.load(open(os.path.join(FIXTURES, name + ".json")))
    T = read_fixture(os.path.join(FIXTURES, name + ".safetensors"))
    net = from_config(side["config"]).eval()
    params = {k[len("param."):]: v for k, v in T.items() if k.startswith("param.")}
    net.load_state_dict(params, strict=True)
    errs = {}
    with torch.no_grad():
        x, t, ctx = T["input.x"], T["input.timesteps"], T["input.context"]
        errs["output"] = (net(x, t, ctx) - T["output"]).abs().max().item()
        if "output.cond" in T:
            errs["output.cond"] = (net(x, t, ctx, T["input.timestep_cond"]) - T["output.cond"]).abs().max().item()
    errs["params"] = sum(p.numel() for p in net.parameters())
    return errs


SD15 = dict(in_channels=4, out_channels=4, model_channels=320, attention_resolutions=[4, 2, 1], num_res_blocks=2,
            channel_mult=[1, 2, 4, 4], num_heads=8, transformer_depth=1, context_dim=768)


def on_meta(fn):
    """Runs fn with the layers the UNet uses created on the meta device (no memory; torch 1.13 has no default device)."""
    classes = [nn.Linear, nn.Conv2d, nn.GroupNorm, nn.LayerNorm]
    saved = {c: c.__init__ for c in classes}
    for c in classes:
        def init(self, *a, __orig=saved[c], **kw):
            kw.setdefault("device", "meta")
            __orig(self, *a, **kw)
        c.__init__ = init
    try:
        return fn()
    finally:
        for c, f in saved.items():
            c.__init__ = f


def check_sd15_keys():
    """Keys and shapes at the real SD 1.5 size against the reference's (sd15_unet_keys.json, from CompVis' UNetModel)."""
    ref = json.load(open(os.path.join(FIXTURES, "sd15_unet_keys.json")))["sd15"]
    sd = on_meta(lambda: SDUNet(**SD15)).state_dict()
    ours = {k: list(v.shape) for k, v in sd.items()}
    assert list(ours) == list(ref["keys"]), "state_dict keys (or their order) differ from the reference's"
    assert ours == ref["keys"], "shapes differ from the reference's"
    return {"keys": len(ours), "params": sum(v.numel() for v in sd.values()), "reference_params": ref["params"]}


def main():
    print(json.dumps({"sd15": check_sd15_keys()}))
    worst = 0.0
    for name in ("sd_unet_heads", "sd_unet_headch_lcm"):
        e = check_fixture(name)
        print(json.dumps({"fixture": name, **e}))
        worst = max(worst, *(v for k, v in e.items() if k != "params"))
    if not worst <= 1e-5:
        print("sd_reference: max |Δ| %.3g > 1e-5" % worst, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
