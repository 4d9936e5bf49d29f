#!/usr/bin/python3
"""PyTorch side of the SD UNet probes (bench/rows/sd_unet.ts): the same step as bench/sd_unet_child.ts, in a fresh
process, on scripts/goldens/sd_reference.py's SDUNet (checked against the reference's fixtures by that script).

  torch_sd_unet.py --weights W.safetensors --config '<snake_case config JSON>' --batch 2 --size 64 --ctx-len 77
                   --precision fp32|bf16 [--warmup 1] [--calls 2] [--threads N] [--seed 0] [--out out.safetensors]

Weights are read tensor by tensor straight into the parameters (no second copy of the weights in memory; the
`safetensors` package is not installed here). Inputs: x [B, in, S, S] then context [B, ctxLen, ctx_dim] from
torch.Generator().manual_seed(seed) (the stream our Generator reproduces), timesteps 981. bf16 is
torch.autocast('cpu', bfloat16) with LDM's GroupNorm32 (models_reference.autocast_groupnorm32), as the precision rows,
and LayerNorm in fp32 (sd_reference.autocast_layernorm32; torch 1.13's CPU autocast rejects it otherwise, as ours does).
Prints one JSON line: per-call ms, load seconds, peak RSS (VmHWM) after loading and at the end, RSS after loading.
"""
import json
import os
import struct
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "goldens"))
sys.path.insert(0, HERE)
import models_reference as R  # noqa: E402
import sd_reference as S  # noqa: E402
from torch_upscale import write_safetensors  # noqa: E402

TIMESTEP = 981


def status_mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no %s line" % field)


def load_streaming(net, path):
    """Reads each tensor of a safetensors file (F32) into the matching parameter; keys and shapes must match."""
    own = net.state_dict()
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        head.pop("__metadata__", None)
        start = 8 + n
        bad = sorted(set(own) ^ set(head)) + [k for k in head if k in own and list(own[k].shape) != head[k]["shape"]]
        if bad:
            raise ValueError("%s does not fit the UNet: %s" % (path, bad[:5]))
        for k, e in sorted(head.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            if e["dtype"] != "F32":
                raise ValueError("%s: %s is %s, expected F32" % (path, k, e["dtype"]))
            a, b = e["data_offsets"]
            f.seek(start + a)
            buf = own[k].detach().numpy()
            if f.readinto(memoryview(buf).cast("B")) != b - a:
                raise ValueError("%s: short read of %s" % (path, k))


def main(argv):
    o = dict(zip(argv[::2], argv[1::2]))
    if o.get("--threads"):
        torch.set_num_threads(int(o["--threads"]))
    precision = o.get("--precision", "fp32")
    if precision not in ("fp32", "bf16"):
        raise SystemExit("torch_sd_unet.py: --precision fp32|bf16, got %s" % precision)
    batch, size, ctx_len = int(o["--batch"]), int(o["--size"]), int(o.get("--ctx-len", 77))
    warmup, calls, seed = int(o.get("--warmup", 1)), int(o.get("--calls", 2)), int(o.get("--seed", 0))
    cfg = json.loads(o["--config"])

    t0 = time.perf_counter()
    net = S.from_config(cfg).eval()
    load_streaming(net, o["--weights"])
    load_sec = time.perf_counter() - t0
    load_peak, load_rss = status_mb("VmHWM"), status_mb("VmRSS")

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, cfg["in_channels"], size, size, generator=g)
    context = torch.randn(batch, ctx_len, cfg["context_dim"], generator=g)
    t = torch.full((batch,), float(TIMESTEP))
    if precision == "bf16":
        R.autocast_groupnorm32()
        S.autocast_layernorm32()

    def step():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            return net(x, t, context).float()

    for _ in range(warmup):
        step()
    samples, out = [], None
    for _ in range(calls):
        out = None
        c0 = time.perf_counter()
        out = step()
        samples.append((time.perf_counter() - c0) * 1e3)
    peak = status_mb("VmHWM")
    if o.get("--out") and out is not None:
        write_safetensors(o["--out"], {"output": out})
    print(json.dumps({"samplesMs": samples, "loadSec": load_sec, "loadPeakRssMB": load_peak, "loadRssMB": load_rss, "peakRssMB": peak,
                      "threads": torch.get_num_threads(), "precision": precision, "torch": torch.__version__}))


if __name__ == "__main__":
    main(sys.argv[1:])
