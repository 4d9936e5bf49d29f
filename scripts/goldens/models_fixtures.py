"""Parity fixtures for fmboost's models beyond the two shared ones, and MAC-count goldens.

Run: /usr/bin/python3 scripts/goldens/models_fixtures.py   (from the repository root; torch 1.13, numpy)
Writes tests/fixtures/models/<name>.{safetensors,json} in the layout of the shared fixtures
(param.*, input.*, output*, grad.*; sidecar with model + config) and tests/goldens/models_macs.json.

The models come from models_reference.py (a re-implementation of the reference). Before writing anything the
script checks that re-implementation against the shared fixtures made by the reference code itself
(../shared/fixtures/parity/unet_tiny and vae_tiny, if present): same outputs and gradients.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models_reference as R  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
SHARED = os.environ.get("FMBOOST_PARITY_DIR", os.path.join(ROOT, "..", "shared", "fixtures", "parity"))


def read_st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32"
        s, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(b[8 + n + s:8 + n + e], dtype=np.float32).copy().reshape(v["shape"]))
    return out


def write_st(path, tensors):
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        a = tensors[k].detach().contiguous().float().numpy().tobytes()
        header[k] = {"dtype": "F32", "shape": list(tensors[k].shape), "data_offsets": [off, off + len(a)]}
        blobs.append(a)
        off += len(a)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


def randomize(model, g):
    """Every weight random (zero-initialised output convs would hide whole subnetworks from the gradients)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1 and ("norm" in name or name.endswith(("in_layers.0.weight", "out_layers.0.weight", "out.0.weight"))):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g) if name.endswith("weight") else 0.2 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if not name.endswith("up_conv.weight") else p.shape[0]
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


def unet_case(config, x_ch, ctx_ch, size, batch, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = R.UNet(**config)
    randomize(net, g)
    x = torch.randn(batch, x_ch, size, size, generator=g).requires_grad_(True)
    ctx = torch.randn(batch, ctx_ch, size, size, generator=g) if ctx_ch else None
    t = torch.rand(batch, generator=g)
    lw = torch.randn(batch, config["out_channels"], size, size, generator=g)
    out = net(x, t, context=ctx)
    loss = (out * lw).sum()
    loss.backward()
    T = {f"param.{k}": v for k, v in net.state_dict().items()}
    T.update({"input.x": x.detach(), "input.t": t, "input.loss_weight": lw, "output": out.detach(), "output.loss": loss.detach().reshape(1)})
    if ctx is not None:
        T["input.context"] = ctx
    T["grad.input.x"] = x.grad
    for k, p in net.named_parameters():
        T[f"grad.{k}"] = p.grad
    side = {"model": "EfficientUNet", "config": config, "call": "net(x, t, context=context)", "loss": "sum(output * loss_weight)",
            "params": sum(p.numel() for p in net.parameters())}
    return T, side


def vae_case(ddconfig, embed_dim, norm_groups, size, seed, sample_seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    vae = R.VAE(ddconfig, embed_dim, norm_groups)
    randomize(vae, g)
    img = torch.rand(1, ddconfig["in_channels"], size, size, generator=g) * 2 - 1
    with torch.no_grad():
        post = vae.encode(img)
        T = {f"param.{k}": v for k, v in vae.state_dict().items()}
        T.update({"input.image": img, "output.mean": post.mean, "output.logvar": post.logvar,
                  "output.latent_scaled": post.mean * 0.18215, "output.decoded": vae.decode(post.mean),
                  "output.kl": post.kl(), "output.sample": post.sample(torch.Generator().manual_seed(sample_seed))})
    dd = dict(ddconfig, norm_groups=norm_groups)
    side = {"model": "AutoencoderKL", "ddconfig": dd, "embed_dim": embed_dim, "latent_scale": 0.18215, "sample_seed": sample_seed,
            "calls": {"output.mean/logvar": "encode(image) posterior (logvar clamped)", "output.decoded": "decode(posterior.mode())",
                      "output.latent_scaled": "posterior.mode() * 0.18215", "output.kl": "posterior.kl()",
                      "output.sample": "posterior.sample() with torch.Generator().manual_seed(sample_seed)"},
            "params": sum(p.numel() for p in vae.parameters())}
    return T, side


def check_against_reference():
    """The re-implementation must reproduce the fixtures the reference code made."""
    up = os.path.join(SHARED, "unet_tiny.safetensors")
    if not os.path.exists(up):
        print(f"note: {SHARED} missing; skipping the check against the reference's fixtures")
        return
    T = read_st(up)
    cfg = json.load(open(os.path.join(SHARED, "unet_tiny.json")))["config"]
    net = R.UNet(**cfg)
    net.load_state_dict({k[6:]: v for k, v in T.items() if k.startswith("param.")}, strict=True)
    x = T["input.x"].clone().requires_grad_(True)
    out = net(x, T["input.t"], context=T["input.context"])
    (out * T["input.loss_weight"]).sum().backward()
    err = (out - T["output"]).abs().max().item()
    big = max(v.abs().max().item() for k, v in T.items() if k.startswith("grad."))
    gerr = max((p.grad - T[f"grad.{k}"]).abs().max().item() / max(T[f"grad.{k}"].abs().max().item(), 1e-3 * big)
               for k, p in net.named_parameters())
    gerr = max(gerr, (x.grad - T["grad.input.x"]).abs().max().item() / T["grad.input.x"].abs().max().item())
    print(f"re-implementation vs reference unet_tiny: output max abs {err:.2e}, worst grad rel {gerr:.2e}")
    assert err < 1e-5 and gerr < 1e-4
    V = read_st(os.path.join(SHARED, "vae_tiny.safetensors"))
    vj = json.load(open(os.path.join(SHARED, "vae_tiny.json")))
    vae = R.VAE(vj["ddconfig"], vj["embed_dim"])
    vae.load_state_dict({k[6:]: v for k, v in V.items() if k.startswith("param.")}, strict=True)
    with torch.no_grad():
        post = vae.encode(V["input.image"])
        errs = [(post.mean - V["output.mean"]).abs().max().item(), (post.logvar - V["output.logvar"]).abs().max().item(),
                (vae.decode(post.mean) - V["output.decoded"]).abs().max().item()]
    print(f"re-implementation vs reference vae_tiny: mean/logvar/decoded max abs {errs}")
    assert max(errs) < 1e-5


UNET_CASES = {
    # 4 levels, attention at factors 2 and 4 (and the middle block), scale-shift norm
    "unet_levels4_attn": (dict(in_channels=8, model_channels=4, out_channels=4, num_res_blocks=1, channel_mult=[1, 2, 2, 4],
                               attention_resolutions=[2, 4], dropout=0.0, conv_resample=True, dim_head=4, num_heads=2,
                               use_linear_attn=False, use_scale_shift_norm=True, pool_factor=-1, norm_groups=2), 4, 4, 16, 2),
    # additive time embedding, 2 res blocks per level, no learned resampling (avg-pool / plain nearest)
    "unet_add_emb_nrb2": (dict(in_channels=6, model_channels=8, out_channels=3, num_res_blocks=2, channel_mult=[1, 2],
                               attention_resolutions=[1], dropout=0.0, conv_resample=False, dim_head=4, num_heads=2,
                               use_linear_attn=False, use_scale_shift_norm=False, pool_factor=-1, norm_groups=4), 3, 3, 8, 2),
    # patchify ×2 in / transposed conv out, linear attention at factors 1 and 2
    "unet_pool2_linear": (dict(in_channels=8, model_channels=8, out_channels=4, num_res_blocks=1, channel_mult=[1, 2],
                               attention_resolutions=[1, 2], dropout=0.0, conv_resample=True, dim_head=4, num_heads=2,
                               use_linear_attn=True, use_scale_shift_norm=True, pool_factor=2, norm_groups=4), 4, 4, 16, 2),
}

VAE_CASES = {
    # 3 levels, attention in the 16-pixel level of a 32-pixel model
    "vae_attn_3levels": (dict(attn_type="vanilla", double_z=True, z_channels=4, resolution=32, in_channels=3, out_ch=3, ch=8,
                              ch_mult=[1, 2, 4], num_res_blocks=1, attn_resolutions=[16], dropout=0.0), 4, 4, 32),
    # avg-pool / plain nearest resampling, 2 blocks, embed_dim != z_channels, other channel counts
    "vae_noconv_resample": (dict(attn_type="vanilla", double_z=True, z_channels=3, resolution=16, in_channels=1, out_ch=2, ch=8,
                                 ch_mult=[1, 2], num_res_blocks=2, attn_resolutions=[], dropout=0.0, resamp_with_conv=False), 2, 4, 16),
}


def macs_goldens():
    """MACs per sample of the presets (conv/linear layers + attention products), counted by hooks."""
    paper = json.load(open(os.path.join(SHARED, "unet_paper_state_dict.json")))["config"] if os.path.exists(os.path.join(SHARED, "unet_paper_state_dict.json")) else None
    out = {}
    cases = {
        "unet_tiny_16": ("unet", dict(in_channels=8, model_channels=32, out_channels=4, num_res_blocks=1, channel_mult=[1, 2],
                                      attention_resolutions=[2], dim_head=16, num_heads=2, use_linear_attn=False, use_scale_shift_norm=True), 16),
        "unet_levels4_attn_16": ("unet", UNET_CASES["unet_levels4_attn"][0], 16),
        "unet_pool2_linear_16": ("unet", UNET_CASES["unet_pool2_linear"][0], 16),
        "vae_attn_3levels_32": ("vae", VAE_CASES["vae_attn_3levels"], 32),
    }
    if paper:
        cases["unet_paper_32"] = ("unet", paper, 32)
    for name, (kind, cfg, size) in cases.items():
        torch.manual_seed(0)
        if kind == "unet":
            net = R.UNet(**cfg)
            R.count_macs(net)
            R.MACS["n"] = 0
            with torch.no_grad():
                net(torch.zeros(1, cfg["in_channels"], size, size), torch.zeros(1))
            out[name] = {"kind": kind, "config": cfg, "size": size, "macs": R.MACS["n"]}
        else:
            dd, embed, groups, _ = cfg
            vae = R.VAE(dd, embed, groups)
            R.count_macs(vae)
            with torch.no_grad():
                R.MACS["n"] = 0
                z = vae.encode(torch.zeros(1, dd["in_channels"], size, size)).mean
                enc = R.MACS["n"]
                R.MACS["n"] = 0
                vae.decode(z)
                dec = R.MACS["n"]
            out[name] = {"kind": kind, "ddconfig": dd, "embed_dim": embed, "norm_groups": groups, "size": size, "encode_macs": enc, "decode_macs": dec}
    return out


def main():
    check_against_reference()
    os.makedirs(OUT, exist_ok=True)
    for i, (name, (cfg, xc, cc, size, batch)) in enumerate(UNET_CASES.items()):
        T, side = unet_case(cfg, xc, cc, size, batch, seed=100 + i)
        write_st(os.path.join(OUT, name + ".safetensors"), T)
        json.dump(side, open(os.path.join(OUT, name + ".json"), "w"), indent=1)
        print(f"{name}: {side['params']} params, {os.path.getsize(os.path.join(OUT, name + '.safetensors'))} bytes")
    for i, (name, (dd, embed, groups, size)) in enumerate(VAE_CASES.items()):
        T, side = vae_case(dd, embed, groups, size, seed=200 + i, sample_seed=7 + i)
        write_st(os.path.join(OUT, name + ".safetensors"), T)
        json.dump(side, open(os.path.join(OUT, name + ".json"), "w"), indent=1)
        print(f"{name}: {side['params']} params, {os.path.getsize(os.path.join(OUT, name + '.safetensors'))} bytes")
    macs = macs_goldens()
    json.dump({"what": "MACs per sample (conv/linear via hooks, attention products counted in the attention modules); "
                       "made by scripts/goldens/models_fixtures.py", "cases": macs},
              open(os.path.join(ROOT, "tests", "goldens", "models_macs.json"), "w"), indent=1)
    print({k: v.get("macs", (v.get("encode_macs"), v.get("decode_macs"))) for k, v in macs.items()})


if __name__ == "__main__":
    main()
