#!/usr/bin/python3
"""PyTorch side of the upscaling bench rows (bench/rows/upscale.ts): the `fmboost upsample` pipeline of
src/pipeline/stages.ts (one pass, untiled) written in torch, on the models of scripts/goldens/models_reference.py
with the weights of an fmboost model bundle (unet.* / vae.* tensors, configs in the safetensors metadata).

  resize (PSU) -> edge-pad -> VAE posterior mean * scale -> noise augmentation (cosine schedule, noise from
  torch.Generator().manual_seed(seed): the stream our Generator reproduces) -> fixed-grid Euler over
  linspace(0, 1, steps) with v = unet(x, t, context) -> decode(x / scale) -> crop -> clamp.

Imported by the bench's torch rows (`import torch_upscale as U`), or run alone to upscale one image:
  torch_upscale.py --bundle B.safetensors --image in.safetensors --out out.safetensors [--steps N] [--seed S]
                   [--noise-step K]
(in/out: safetensors with one tensor "image" [1, 3, H, W] in [-1, 1]; the test compares it with ours).
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "goldens"))
import models_reference as R  # noqa: E402

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file (the python `safetensors` package is not installed here)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    meta = head.pop("__metadata__", {}) or {}
    out = {}
    for k, e in head.items():
        if e["dtype"] not in DTYPES:
            raise ValueError("%s: tensor %s has dtype %s (supported: %s)" % (path, k, e["dtype"], ", ".join(DTYPES)))
        a, b = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[e["dtype"]]) if b > a else torch.empty(0, dtype=DTYPES[e["dtype"]])
        out[k] = t.reshape(e["shape"]).float()
    return out, meta


def write_safetensors(path, tensors):
    head, blobs, off = {}, [], 0
    for k, t in tensors.items():
        b = t.detach().contiguous().float().numpy().tobytes()
        head[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(head).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def snake(k):
    return "".join("_" + c.lower() if c.isupper() else c for c in k)


class Model:
    """A bundle's UNet and VAE (eval mode) and its flow settings."""

    def __init__(self, path):
        tensors, meta = read_safetensors(path)
        if meta.get("format") != "fmboost-cfm-model":
            raise ValueError("%s: not an fmboost model bundle (metadata format %r)" % (path, meta.get("format")))
        uc, vc, self.flow = (json.loads(meta[k]) for k in ("unet", "vae", "flow"))
        unet_args = {snake(k): v for k, v in uc.items()}
        self.unet = R.UNet(**unet_args).eval()
        if vc.get("attnType", "vanilla") not in ("vanilla", "none") or vc.get("tanhOut", False):
            raise ValueError("%s: VAE attnType %r / tanhOut %r have no PyTorch reference counterpart" % (path, vc.get("attnType"), vc.get("tanhOut")))
        dd = dict(attn_type=vc.get("attnType", "vanilla"), double_z=True, z_channels=vc["zChannels"], resolution=vc["resolution"], in_channels=vc["inChannels"],
                  out_ch=vc["outCh"], ch=vc["ch"], ch_mult=vc["chMult"], num_res_blocks=vc["numResBlocks"],
                  attn_resolutions=vc["attnResolutions"], dropout=0.0, resamp_with_conv=vc.get("resampWithConv", True))
        self.vae = R.VAE(dd, vc["embedDim"], norm_groups=vc.get("normGroups", 32), shortcut=vc.get("shortcut")).eval()
        for prefix, net in (("unet.", self.unet), ("vae.", self.vae)):
            sd = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            missing, unexpected = net.load_state_dict(sd, strict=False)
            if missing or unexpected:
                raise ValueError("%s: %s weights do not fit the reference module (missing %s, unexpected %s)" % (path, prefix[:-1], missing[:3], unexpected[:3]))
        self.down = 2 ** (len(vc["chMult"]) - 1)
        pool = uc.get("poolFactor", -1)
        self.unet_multiple = 2 ** (len(uc["channelMult"]) - 1) * (pool if pool > 1 else 1)
        self.scale = self.flow["scaleFactor"]


def alpha_bar_coefficients(step, steps=1000):
    """(sqrt(ab), sqrt(1 - ab)) rounded to float32 as src/flow/noise_augment.ts computes them (float64, then float32)."""
    f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]
    t = step / (steps - 1)
    ab = f32(1 / (1 + math.exp(2 * math.log(math.tan(math.pi * t / 2) + 1e-5))))
    return f32(math.sqrt(ab)), f32(math.sqrt(f32(1 - ab)))


def pad_to(x, k):
    H, W = x.shape[2], x.shape[3]
    ph, pw = (k - H % k) % k, (k - W % k) % k
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def encode(m, x):
    return m.vae.encode(x).mean * m.scale


@torch.no_grad()
def upsample(m, img, steps=None, seed=0, noise_step=None):
    """One untiled pass of the pipeline: img [1, 3, h, w] in [-1, 1] -> [1, 3, h*factor, w*factor]; fixed-grid Euler."""
    fl = m.flow
    steps = fl["steps"] if steps is None else steps
    noise_step = fl["noiseStep"] if noise_step is None else noise_step
    fac = fl["factor"]
    h, w = img.shape[2], img.shape[3]
    H, W = h * fac, w * fac
    mult = m.down * m.unet_multiple
    if fl["source"] == "psu":
        ctx = encode(m, pad_to(F.interpolate(img, size=(H, W), mode=fl["pixelResize"], align_corners=False), mult))
    else:
        zl = encode(m, pad_to(img, mult))
        size = (zl.shape[2] * fac, zl.shape[3] * fac)
        mode = fl["lsuInterpolation"]
        ctx = F.interpolate(zl, size=size, mode=mode) if mode == "nearest" else F.interpolate(zl, size=size, mode=mode, align_corners=False)
    g = torch.Generator().manual_seed(seed)
    if fl["startFromNoise"]:
        x = torch.randn(ctx.shape, generator=g)
    elif noise_step > 0:
        a, s = alpha_bar_coefficients(noise_step)
        x = ctx * a + torch.randn(ctx.shape, generator=g) * s
    else:
        x = ctx.clone()
    grid = torch.linspace(0, 1, steps, dtype=torch.float32).tolist()
    for t0, t1 in zip(grid[:-1], grid[1:]):
        x = x + m.unet(x, torch.full((x.shape[0],), t0), context=ctx) * (t1 - t0)
    return m.vae.decode(x / m.scale)[:, :, :H, :W].clamp(-1, 1)


def test_image(size, seed=0):
    """A smooth [1, 3, size, size] image in [-1, 1] (bicubic-upsampled uniform noise), as bench/rows/upscale.ts makes it."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, max(1, size // 8), max(1, size // 8), generator=g)
    return (F.interpolate(low, size=(size, size), mode="bicubic", align_corners=False) * 2 - 1).clamp(-1, 1)


def main(argv):
    opts = {"--steps": None, "--seed": "0", "--noise-step": None, "--threads": None}
    args = dict(zip(argv[::2], argv[1::2]))
    for k in ("--bundle", "--image", "--out"):
        if k not in args:
            raise SystemExit("torch_upscale.py: %s is required (see the docstring)" % k)
    opts.update(args)
    if opts["--threads"]:
        torch.set_num_threads(int(opts["--threads"]))
    m = Model(opts["--bundle"])
    img = read_safetensors(opts["--image"])[0]["image"]
    out = upsample(m, img, None if opts["--steps"] is None else int(opts["--steps"]), int(opts["--seed"]),
                   None if opts["--noise-step"] is None else int(opts["--noise-step"]))
    write_safetensors(opts["--out"], {"image": out})


if __name__ == "__main__":
    main(sys.argv[1:])
