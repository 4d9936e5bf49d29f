"""PyTorch re-implementation of the reference models (CompVis/fm-boosting: fmboost/models/unet/*, fmboost/kl_autoencoder.py),
written from the reference's description to make more parity fixtures for fmboost (tests/fixtures/models/).

Module trees, parameter names and the math follow the reference, including its qkv layout (reshape
(b, 3*inner, L) -> (b, heads, L, -1) without a permute, chunk in 3 on the last axis). One addition:
`norm_groups` (the reference always uses 32 GroupNorm groups) so that fixtures can use tiny channel counts.
MAC counting: conv/linear layers through forward hooks, attention products inside the attention modules.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

MACS = {"n": 0}


def count_macs(model):
    """Adds forward hooks counting multiply-accumulates of conv / linear layers into MACS['n']."""
    def conv_hook(m, inp, out):
        k = 1
        for s in m.kernel_size:
            k *= s
        if isinstance(m, nn.ConvTranspose2d):
            MACS["n"] += inp[0].numel() // inp[0].shape[0] * m.out_channels // m.groups * k
        else:
            MACS["n"] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * k

    def lin_hook(m, inp, out):
        MACS["n"] += m.in_features * m.out_features

    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(lin_hook)


def zeroed(m):
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
    return m


# ----------------------------------------------------------------------------------------------- UNet

def sinusoidal(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
    a = t[:, None].float() * freqs[None]
    e = torch.cat([torch.cos(a), torch.sin(a)], dim=-1)
    if dim % 2:
        e = torch.cat([e, torch.zeros_like(e[:, :1])], dim=-1)
    return e


class ResBlock(nn.Module):
    def __init__(self, ch, emb_ch, dropout, out_ch=None, scale_shift=False, groups=32):
        super().__init__()
        out_ch = out_ch or ch
        self.scale_shift = scale_shift
        self.in_layers = nn.Sequential(nn.GroupNorm(groups, ch), nn.SiLU(), nn.Conv2d(ch, out_ch, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_ch, 2 * out_ch if scale_shift else out_ch))
        self.out_layers = nn.Sequential(nn.GroupNorm(groups, out_ch), nn.SiLU(), nn.Dropout(dropout),
                                        zeroed(nn.Conv2d(out_ch, out_ch, 3, padding=1)))
        self.skip_connection = nn.Identity() if out_ch == ch else nn.Conv2d(ch, out_ch, 1)

    def forward(self, x, emb):
        h = self.in_layers(x)
        e = self.emb_layers(emb)[:, :, None, None]
        if self.scale_shift:
            scale, shift = e.chunk(2, dim=1)
            h = self.out_layers[0](h) * (1 + scale) + shift
            for m in self.out_layers[1:]:
                h = m(h)
        else:
            h = self.out_layers(h + e)
        return self.skip_connection(x) + h


class Attention(nn.Module):
    def __init__(self, dim, heads, dim_head, linear, groups=32):
        super().__init__()
        self.heads, self.inner, self.linear = heads, heads * dim_head, linear
        self.norm = nn.GroupNorm(groups, dim)
        self.qkv = nn.Conv1d(dim, 3 * self.inner, 1)
        self.proj_out = zeroed(nn.Conv1d(self.inner, dim, 1))

    def forward(self, x):
        b, c, *sp = x.shape
        x = x.reshape(b, c, -1)
        qkv = self.qkv(self.norm(x))
        L = qkv.shape[-1]
        q, k, v = qkv.reshape(b, self.heads, L, -1).chunk(3, dim=-1)
        d = q.shape[-1]
        if self.linear:
            q = q.softmax(dim=-1) / math.sqrt(d)
            k = k.softmax(dim=-2)
            ctx = torch.einsum("bhnd,bhne->bhde", k, v)
            h = torch.einsum("bhnd,bhde->bhne", q, ctx)
            MACS["n"] += 2 * self.heads * L * d * d
        else:
            w = torch.softmax(torch.einsum("bhtd,bhsd->bhts", q, k) / math.sqrt(d), dim=-1)
            h = torch.einsum("bhts,bhsd->bhtd", w, v)
            MACS["n"] += 2 * self.heads * L * L * d
        h = self.proj_out(h.reshape(b, self.inner, -1))
        return (x + h).reshape(b, c, *sp)


class Down(nn.Module):
    def __init__(self, ch, use_conv):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1) if use_conv else nn.AvgPool2d(2)

    def forward(self, x):
        return self.op(x)


class Up(nn.Module):
    def __init__(self, ch, use_conv):
        super().__init__()
        self.use_conv = use_conv
        if use_conv:
            self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv(x) if self.use_conv else x


class Patchify(nn.Module):
    def __init__(self, cin, cout, f):
        super().__init__()
        self.down_conv = nn.Conv2d(cin, cout, f, stride=f)

    def forward(self, x):
        return self.down_conv(x)


class UnPatchify(nn.Module):
    def __init__(self, cin, cout, f):
        super().__init__()
        self.up_conv = nn.ConvTranspose2d(cin, cout, f, stride=f)

    def forward(self, x):
        return self.up_conv(x)


class Seq(nn.ModuleList):
    def forward(self, x, emb):
        for m in self:
            x = m(x, emb) if isinstance(m, ResBlock) else m(x)
        return x


class UNet(nn.Module):
    def __init__(self, in_channels, model_channels, out_channels, num_res_blocks, attention_resolutions, dropout=0.0,
                 channel_mult=(1, 2, 3, 4), conv_resample=True, dim_head=64, num_heads=4, use_linear_attn=True,
                 use_scale_shift_norm=True, pool_factor=-1, norm_groups=32):
        super().__init__()
        mc, G = model_channels, norm_groups
        self.mc = mc
        T = 4 * mc
        res = lambda ci, co=None: ResBlock(ci, T, dropout, co, use_scale_shift_norm, G)
        attn = lambda c, lin: Attention(c, num_heads, dim_head, lin, G)
        self.time_embed = nn.Sequential(nn.Linear(mc, T), nn.SiLU(), nn.Linear(T, T))
        pool = pool_factor > 1
        self.pool = Patchify(in_channels, mc, pool_factor) if pool else nn.Identity()
        self.input_blocks = nn.ModuleList([Seq([nn.Conv2d(mc if pool else in_channels, mc, 3, padding=1)])])
        chans, ch, ds = [mc], mc, 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers = [res(ch, mult * mc)]
                ch = mult * mc
                if ds in attention_resolutions:
                    layers.append(attn(ch, use_linear_attn))
                self.input_blocks.append(Seq(layers))
                chans.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(Seq([Down(ch, conv_resample)]))
                chans.append(ch)
                ds *= 2
        self.middle_block = Seq([res(ch), attn(ch, False), res(ch)])
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                layers = [res(ch + chans.pop(), mc * mult)]
                ch = mc * mult
                if ds in attention_resolutions:
                    layers.append(attn(ch, use_linear_attn))
                if level and i == num_res_blocks:
                    layers.append(Up(ch, conv_resample))
                    ds //= 2
                self.output_blocks.append(Seq(layers))
        conv = nn.Conv2d(mc, mc if pool else out_channels, 3, padding=1)
        self.out = nn.Sequential(nn.GroupNorm(G, ch), nn.SiLU(), conv if pool else zeroed(conv))
        self.un_pool = UnPatchify(mc, out_channels, pool_factor) if pool else nn.Identity()

    def forward(self, x, t, context=None):
        emb = self.time_embed(sinusoidal(t, self.mc))
        if context is not None:
            x = torch.cat([x, context], dim=1)
        h = self.pool(x)
        hs = []
        for b in self.input_blocks:
            h = b(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for b in self.output_blocks:
            h = b(torch.cat([h, hs.pop()], dim=1), emb)
        return self.un_pool(self.out(h))


# ----------------------------------------------------------------------------------------------- VAE

class Gaussian:
    def __init__(self, moments):
        self.mean, logvar = moments.chunk(2, dim=1)
        self.logvar = logvar.clamp(-30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)
        self.var = torch.exp(self.logvar)

    def sample(self, generator):
        return self.mean + self.std * torch.randn(self.mean.shape, generator=generator)

    def kl(self):
        return 0.5 * torch.sum(self.mean ** 2 + self.var - 1.0 - self.logvar, dim=[1, 2, 3])


_GROUP_NORM_FORWARD = nn.GroupNorm.forward


def _group_norm32(self, x):
    if x.dtype == torch.float32:
        return _GROUP_NORM_FORWARD(self, x)
    return F.group_norm(x.float(), self.num_groups, self.weight, self.bias, self.eps).type(x.dtype)


def autocast_groupnorm32():
    """Every nn.GroupNorm normalises a reduced-precision input in fp32 and returns the input's dtype (LDM's
    GroupNorm32). Needed for bf16 autocast on the CPU: torch 1.13 rejects group_norm on a bf16 input with fp32
    weights. fp32 inputs run the original forward unchanged. (bench/rows/precision.ts)"""
    nn.GroupNorm.forward = _group_norm32


def gn(c, groups):
    return nn.GroupNorm(groups, c, eps=1e-6)


class VResBlock(nn.Module):
    def __init__(self, cin, cout, dropout, groups):
        super().__init__()
        self.norm1, self.conv1 = gn(cin, groups), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.dropout, self.conv2 = gn(cout, groups), nn.Dropout(dropout), nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)
        self.cin, self.cout = cin, cout

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (self.nin_shortcut(x) if self.cin != self.cout else x) + h


class VAttn(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.norm = gn(c, groups)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        b, c, H, W = x.shape
        n = self.norm(x)
        q, k, v = (m(n).reshape(b, c, H * W).transpose(1, 2) for m in (self.q, self.k, self.v))
        w = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        MACS["n"] += 2 * H * W * H * W * c
        o = (w @ v).transpose(1, 2).reshape(b, c, H, W)
        return x + self.proj_out(o)


class VDown(nn.Module):
    def __init__(self, c, with_conv):
        super().__init__()
        self.with_conv = with_conv
        if with_conv:
            self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1))) if self.with_conv else F.avg_pool2d(x, 2)


class VUp(nn.Module):
    def __init__(self, c, with_conv):
        super().__init__()
        self.with_conv = with_conv
        if with_conv:
            self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x) if self.with_conv else x


class Level(nn.Module):
    pass


class Mid(nn.Module):
    def __init__(self, c, dropout, groups, attn=True):
        super().__init__()
        self.block_1 = VResBlock(c, c, dropout, groups)
        self.attn_1 = VAttn(c, groups) if attn else nn.Identity()  # attn_type 'none' (fmboost's CPU VAEs)
        self.block_2 = VResBlock(c, c, dropout, groups)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


def run_level(level, h):
    for j, b in enumerate(level.block):
        h = b(h)
        if len(level.attn):
            h = level.attn[j](h)
    return h


class VEncoder(nn.Module):
    def __init__(self, ch, ch_mult, num_res_blocks, attn_resolutions, dropout, in_channels, resolution, z_channels,
                 resamp_with_conv=True, groups=32, attn=True):
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)
        self.down = nn.ModuleList()
        res, cin = resolution, ch
        for i, m in enumerate(ch_mult):
            lv = Level()
            lv.block, lv.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res_blocks):
                lv.block.append(VResBlock(cin, ch * m, dropout, groups))
                cin = ch * m
                if res in attn_resolutions:
                    lv.attn.append(VAttn(cin, groups))
            if i != len(ch_mult) - 1:
                lv.downsample = VDown(cin, resamp_with_conv)
                res //= 2
            self.down.append(lv)
        self.mid = Mid(cin, dropout, groups, attn)
        self.norm_out = gn(cin, groups)
        self.conv_out = nn.Conv2d(cin, 2 * z_channels, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for i, lv in enumerate(self.down):
            h = run_level(lv, h)
            if hasattr(lv, "downsample"):
                h = lv.downsample(h)
        return self.conv_out(F.silu(self.norm_out(self.mid(h))))


class VDecoder(nn.Module):
    def __init__(self, ch, out_ch, ch_mult, num_res_blocks, attn_resolutions, dropout, resolution, z_channels,
                 resamp_with_conv=True, groups=32, attn=True):
        super().__init__()
        n = len(ch_mult)
        cin = ch * ch_mult[-1]
        res = resolution // 2 ** (n - 1)
        self.conv_in = nn.Conv2d(z_channels, cin, 3, padding=1)
        self.mid = Mid(cin, dropout, groups, attn)
        levels = [None] * n
        for i in reversed(range(n)):
            lv = Level()
            lv.block, lv.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                lv.block.append(VResBlock(cin, ch * ch_mult[i], dropout, groups))
                cin = ch * ch_mult[i]
                if res in attn_resolutions:
                    lv.attn.append(VAttn(cin, groups))
            if i != 0:
                lv.upsample = VUp(cin, resamp_with_conv)
                res *= 2
            levels[i] = lv
        self.up = nn.ModuleList(levels)
        self.norm_out = gn(cin, groups)
        self.conv_out = nn.Conv2d(cin, out_ch, 3, padding=1)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for i in reversed(range(len(self.up))):
            h = run_level(self.up[i], h)
            if hasattr(self.up[i], "upsample"):
                h = self.up[i].upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class VAE(nn.Module):
    """LDM's AutoencoderKL. Two fmboost extensions (src/models/vae): ddconfig attn_type 'none' (no mid-block
    attention) and shortcut='linear' (pixel_unshuffle -> 1x1 conv added to the posterior mean; 1x1 conv ->
    pixel_shuffle added to the decoded image; after DC-AE's residual autoencoding)."""

    def __init__(self, ddconfig, embed_dim, norm_groups=32, shortcut=None):
        super().__init__()
        d = ddconfig
        common = dict(ch=d["ch"], ch_mult=d["ch_mult"], num_res_blocks=d["num_res_blocks"],
                      attn_resolutions=d["attn_resolutions"], dropout=d["dropout"], resolution=d["resolution"],
                      z_channels=d["z_channels"], resamp_with_conv=d.get("resamp_with_conv", True), groups=norm_groups,
                      attn=d.get("attn_type", "vanilla") != "none")
        self.encoder = VEncoder(in_channels=d["in_channels"], **common)
        self.decoder = VDecoder(out_ch=d["out_ch"], **common)
        self.quant_conv = nn.Conv2d(2 * d["z_channels"], 2 * embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(embed_dim, d["z_channels"], 1)
        self.down = 2 ** (len(d["ch_mult"]) - 1)
        if shortcut not in (None, "none", "linear"):
            raise ValueError("shortcut must be None or 'linear', got %r" % (shortcut,))
        if shortcut == "linear":
            f2 = self.down ** 2
            self.encoder_shortcut = nn.Conv2d(d["in_channels"] * f2, embed_dim, 1)
            self.decoder_shortcut = nn.Conv2d(embed_dim, d["out_ch"] * f2, 1)
        self.shortcut = shortcut == "linear"

    def encode(self, x):
        m = self.quant_conv(self.encoder(x))
        if self.shortcut:
            s = self.encoder_shortcut(F.pixel_unshuffle(x, self.down))
            m = m + torch.cat([s, torch.zeros_like(s)], dim=1)
        return Gaussian(m)

    def decode(self, z):
        y = self.decoder(self.post_quant_conv(z))
        if self.shortcut:
            y = y + F.pixel_shuffle(self.decoder_shortcut(z), self.down)
        return y
