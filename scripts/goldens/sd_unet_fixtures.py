"""Parity fixtures for fmboost's Stable Diffusion 1.x UNet (src/models/sd), made by the REFERENCE code.

Run: /usr/bin/python3 scripts/goldens/sd_unet_fixtures.py   (from the repository root; torch 1.13, numpy, yaml)

The reference is CompVis/stable-diffusion (git mirror at /work/.mirror/CompVis+stable-diffusion/repo, override with
SD_REPO): ldm/modules/diffusionmodules/{openaimodel,util}.py, ldm/modules/attention.py and ldm/util.py are copied
into a temp folder (with a minimal einops shim and an omegaconf.listconfig shim; neither package is installed) and
imported from there. Nothing of it is copied into this repository.

Deviations from the reference, all for tiny fixtures:
- GroupNorm groups: the reference always uses 32 (GroupNorm32 in ResBlocks and the output, nn.GroupNorm(32, eps=1e-6)
  in SpatialTransformer). The script monkeypatches openaimodel.normalization -> GroupNorm32(G, ch) and
  attention.Normalize -> nn.GroupNorm(G, ch, eps=1e-6) with G = the case's norm_groups (our config's normGroups).
- LCM's guidance embedding (diffusers' TimestepEmbedding.cond_proj, which the LDM code does not have): for the case
  with time_cond_proj_dim, openaimodel.timestep_embedding is wrapped to return
  timestep_embedding(t) + cond_proj(timestep_cond) (a bias-free Linear, exactly diffusers' TimestepEmbedding.forward:
  `sample = sample + self.cond_proj(condition)` before linear_1). Its weight is stored as time_embed.cond_proj.weight.

Writes tests/fixtures/models/sd/<case>.{safetensors,json} in the layout of src/models/parity.ts:
  param.<key>  weights (all random: zero-initialised convs would hide subnetworks)
  input.x [2,4,8,8], input.timesteps [2] (integer DDPM steps as float), input.context [2,5,ctx], input.timestep_cond
  output = unet(x, timesteps, context); output.cond = the same with the guidance embedding (LCM case)
  input.loss_weight, grad.input.x, grad.<key>: gradients of sum(output * loss_weight) (for the parameters under
  the case's `grads` prefixes only, to keep files small)
and tests/fixtures/models/sd/sd15_unet_keys.json:
  sd15: every state_dict key -> shape of the reference UNetModel at the real v1-inference.yaml unet_config (built on
        the meta device: no weights), and diffusers: diffusers key -> original key as diffusers' own
        convert_ldm_unet_checkpoint maps them;
  <case>.diffusers: the same diffusers -> original map for each tiny fixture.
diffusers' converter (huggingface/diffusers src/diffusers/pipelines/stable_diffusion/convert_from_ckpt.py, mirror at
/work/.mirror/huggingface+diffusers/repo, override with DIFFUSERS_REPO) runs standalone: the script takes only its
pure functions (create_unet_diffusers_config, convert_ldm_unet_checkpoint and their helpers) out of the file with ast
and executes them; the module itself imports transformers etc. and is not imported.
"""
import ast
import json
import logging
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "models", "sd")
SD_REPO = os.environ.get("SD_REPO", "/work/.mirror/CompVis+stable-diffusion/repo")
DIFFUSERS_REPO = os.environ.get("DIFFUSERS_REPO", "/work/.mirror/huggingface+diffusers/repo")

EINOPS_SHIM = '''
"""Minimal einops for the patterns ldm's UNet uses (not the real package)."""
import torch
def rearrange(t, pattern, **kw):
    h = kw.get("h"); w = kw.get("w")
    if pattern == "b c h w -> b (h w) c":
        b, c, hh, ww = t.shape
        return t.permute(0, 2, 3, 1).reshape(b, hh * ww, c)
    if pattern == "b (h w) c -> b c h w":
        b, n, c = t.shape
        return t.reshape(b, h, w, c).permute(0, 3, 1, 2)
    if pattern == "b n (h d) -> (b h) n d":
        b, n, hd = t.shape
        return t.reshape(b, n, h, hd // h).permute(0, 2, 1, 3).reshape(b * h, n, hd // h)
    if pattern == "(b h) n d -> b n (h d)":
        bh, n, d = t.shape
        return t.reshape(bh // h, h, n, d).permute(0, 2, 1, 3).reshape(bh // h, n, h * d)
    raise NotImplementedError(pattern)
def repeat(t, pattern, **kw):
    raise NotImplementedError(pattern)
'''


def git_show(repo, path):
    return subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"], check=True, capture_output=True, text=True).stdout


def materialise_reference():
    tmp = tempfile.mkdtemp(prefix="sdref_")
    for path in ["ldm/util.py", "ldm/modules/attention.py", "ldm/modules/diffusionmodules/openaimodel.py",
                 "ldm/modules/diffusionmodules/util.py"]:
        dst = os.path.join(tmp, path)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        open(dst, "w").write(git_show(SD_REPO, path))
    for pkg in ["ldm", "ldm/modules", "ldm/modules/diffusionmodules", "omegaconf"]:
        os.makedirs(os.path.join(tmp, pkg), exist_ok=True)
        init = os.path.join(tmp, pkg, "__init__.py")
        if not os.path.exists(init):
            open(init, "w").write("")
    open(os.path.join(tmp, "einops.py"), "w").write(EINOPS_SHIM)
    # UNetModel imports omegaconf.listconfig.ListConfig when context_dim is given (only for an isinstance test).
    open(os.path.join(tmp, "omegaconf", "listconfig.py"), "w").write("class ListConfig(list):\n    pass\n")
    sys.path.insert(0, tmp)
    import ldm.modules.attention as attention
    import ldm.modules.diffusionmodules.openaimodel as openaimodel
    import ldm.modules.diffusionmodules.util as dutil
    return attention, openaimodel, dutil


attention, openaimodel, dutil = materialise_reference()
ORIG_NORMALIZATION = openaimodel.normalization
ORIG_NORMALIZE = attention.Normalize
ORIG_TIMESTEP_EMBEDDING = openaimodel.timestep_embedding


def set_norm_groups(groups):
    openaimodel.normalization = lambda ch: dutil.GroupNorm32(groups, ch)
    attention.Normalize = lambda ch: torch.nn.GroupNorm(num_groups=groups, num_channels=ch, eps=1e-6, affine=True)


def restore_norms():
    openaimodel.normalization = ORIG_NORMALIZATION
    attention.Normalize = ORIG_NORMALIZE


def load_diffusers_converter():
    """create_unet_diffusers_config, convert_ldm_unet_checkpoint and their helpers, taken out of diffusers' file."""
    src = git_show(DIFFUSERS_REPO, "src/diffusers/pipelines/stable_diffusion/convert_from_ckpt.py")
    tree = ast.parse(src)
    wanted = {"shave_segments", "renew_resnet_paths", "renew_attention_paths", "assign_to_checkpoint",
              "create_unet_diffusers_config", "convert_ldm_unet_checkpoint"}
    nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    assert {n.name for n in nodes} == wanted, f"diffusers converter changed: found {[n.name for n in nodes]}"
    ns = {"logger": logging.getLogger("convert_from_ckpt"), "torch": torch}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), "convert_from_ckpt.py", "exec"), ns)
    return ns


CONVERTER = load_diffusers_converter()


def diffusers_map(unet_params, state_dict):
    """diffusers key -> original key, by running diffusers' converter on `state_dict` and matching tensor identity."""
    original = {"model": {"params": {"unet_config": {"params": unet_params},
                                     "first_stage_config": {"params": {"ddconfig": {"ch_mult": [1, 2, 4, 4]}}}}}}
    dconf = CONVERTER["create_unet_diffusers_config"](original, image_size=512)
    sd = dict(state_dict)
    by_id = {id(v): k for k, v in sd.items()}
    new = CONVERTER["convert_ldm_unet_checkpoint"]({f"model.diffusion_model.{k}": v for k, v in sd.items()}, dconf)
    out = {}
    for k, v in new.items():
        assert id(v) in by_id, f"converter produced a new tensor for {k} (not a pure rename)"
        out[k] = by_id[id(v)]
    missing = set(sd) - set(out.values())
    assert not missing, f"converter dropped keys: {sorted(missing)}"
    assert len(set(out.values())) == len(out), "converter mapped two diffusers keys to one original key"
    return dict(sorted(out.items())), dconf


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
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1 and ("norm" in name or name.endswith(("in_layers.0.weight", "out_layers.0.weight", "out.0.weight",
                                                                "in_layers.0.bias", "out_layers.0.bias", "out.0.bias"))):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g) if name.endswith("weight") else 0.2 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))


CASES = {
    # num_heads 2 (dim_head = ch / 2 per level), attention at factors 1 and 2 plus the middle block
    "sd_unet_heads": dict(params=dict(image_size=8, in_channels=4, out_channels=4, model_channels=6, attention_resolutions=[2, 1],
                                      num_res_blocks=1, channel_mult=[1, 2], num_heads=2, use_spatial_transformer=True,
                                      transformer_depth=1, context_dim=8, use_checkpoint=False, legacy=False),
                          norm_groups=3, cond_dim=None, grads=["time_embed.", "output_blocks.2."], seed=300),
    # num_head_channels 2 (heads = ch / 2), 3 levels with attention only at factor 1 (and the middle), 2 res blocks,
    # transformer depth 2, output channels != input channels, and LCM's guidance-embedding projection
    "sd_unet_headch_lcm": dict(params=dict(image_size=8, in_channels=4, out_channels=3, model_channels=4, attention_resolutions=[1],
                                           num_res_blocks=2, channel_mult=[1, 2, 2], num_head_channels=2, use_spatial_transformer=True,
                                           transformer_depth=2, context_dim=8, use_checkpoint=False, legacy=False),
                               norm_groups=2, cond_dim=8, grads=["input_blocks.1.", "middle_block.1."], seed=301),
}
# Fixtures stay under 300 KB: gradients are stored for the input and the parameters under each case's `grads` prefixes.


def run_case(name, case):
    torch.manual_seed(case["seed"])
    g = torch.Generator().manual_seed(case["seed"])
    set_norm_groups(case["norm_groups"])
    try:
        net = openaimodel.UNetModel(**case["params"])
    finally:
        restore_norms()
    randomize(net, g)
    net.eval()
    p = case["params"]
    n, size, ctx_len = 2, 8, 5
    x = torch.randn(n, p["in_channels"], size, size, generator=g).requires_grad_(True)
    timesteps = torch.randint(0, 1000, (n,), generator=g).float()
    context = torch.randn(n, ctx_len, p["context_dim"], generator=g)
    lw = torch.randn(n, p["out_channels"], size, size, generator=g)
    out = net(x, timesteps=timesteps, context=context)
    loss = (out * lw).sum()
    loss.backward()
    T = {f"param.{k}": v for k, v in net.state_dict().items()}
    T.update({"input.x": x.detach(), "input.timesteps": timesteps, "input.context": context, "input.loss_weight": lw,
              "output": out.detach(), "output.loss": loss.detach().reshape(1), "grad.input.x": x.grad})
    for k, prm in net.named_parameters():
        if k.startswith(tuple(case["grads"])):
            T[f"grad.{k}"] = prm.grad
    config = {k: v for k, v in p.items() if k not in ("image_size", "use_spatial_transformer", "use_checkpoint", "legacy")}
    config["norm_groups"] = case["norm_groups"]
    if case["cond_dim"]:
        cond_proj = torch.nn.Linear(case["cond_dim"], p["model_channels"], bias=False)
        with torch.no_grad():
            cond_proj.weight.copy_(torch.randn(cond_proj.weight.shape, generator=g) / math.sqrt(case["cond_dim"]))
        cond = torch.randn(n, case["cond_dim"], generator=g)
        openaimodel.timestep_embedding = lambda t, dim, **kw: ORIG_TIMESTEP_EMBEDDING(t, dim, **kw) + cond_proj(cond)
        try:
            with torch.no_grad():
                T["output.cond"] = net(x.detach(), timesteps=timesteps, context=context)
        finally:
            openaimodel.timestep_embedding = ORIG_TIMESTEP_EMBEDDING
        T["param.time_embed.cond_proj.weight"] = cond_proj.weight.detach()
        T["input.timestep_cond"] = cond
        config["time_cond_proj_dim"] = case["cond_dim"]
    side = {"model": "SDUNet", "config": config,
            "calls": {"output": "unet(x, timesteps, context)", "output.cond": "unet(x, timesteps, context, timestep_cond) (LCM case)",
                      "output.loss": "sum(output * loss_weight)", "grad.*": "d output.loss / d (x, params)"},
            "params": sum(q.numel() for q in net.parameters()),
            "made_by": "scripts/goldens/sd_unet_fixtures.py (CompVis/stable-diffusion UNetModel, norm groups patched)"}
    dmap, _ = diffusers_map(p, net.state_dict())
    return T, side, dmap


def meta_init(fn):
    """Runs fn with every nn layer the UNet uses created on the meta device (torch 1.13 has no default-device context)."""
    classes = [torch.nn.Linear, torch.nn.Conv2d, torch.nn.GroupNorm, torch.nn.LayerNorm]
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


def sd15_keys():
    cfg = yaml.safe_load(git_show(SD_REPO, "configs/stable-diffusion/v1-inference.yaml"))
    params = cfg["model"]["params"]["unet_config"]["params"]
    net = meta_init(lambda: openaimodel.UNetModel(**params))
    sd = net.state_dict()
    assert all(v.is_meta for v in sd.values())
    nparams = sum(v.numel() for v in sd.values())
    dmap, dconf = diffusers_map(params, sd)
    return {"config": params, "params": nparams, "keys": {k: list(v.shape) for k, v in sd.items()},
            "diffusers": dmap, "diffusers_config": {k: v for k, v in dconf.items() if v is not None}}


def main():
    os.makedirs(OUT, exist_ok=True)
    keys = {"what": "state_dict keys/shapes of CompVis/stable-diffusion's UNetModel at configs/stable-diffusion/v1-inference.yaml "
                    "(built on the meta device), and diffusers key -> original key maps made by diffusers' convert_ldm_unet_checkpoint; "
                    "made by scripts/goldens/sd_unet_fixtures.py",
            "sd15": sd15_keys()}
    print(f"sd15: {len(keys['sd15']['keys'])} keys, {keys['sd15']['params']} params, {len(keys['sd15']['diffusers'])} diffusers keys")
    for name, case in CASES.items():
        T, side, dmap = run_case(name, case)
        path = os.path.join(OUT, name + ".safetensors")
        write_st(path, T)
        json.dump(side, open(os.path.join(OUT, name + ".json"), "w"), indent=1)
        keys[name] = {"diffusers": dmap}
        print(f"{name}: {side['params']} params, {os.path.getsize(path)} bytes, |output| max {T['output'].abs().max().item():.3f}")
    json.dump(keys, open(os.path.join(OUT, "sd15_unet_keys.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
