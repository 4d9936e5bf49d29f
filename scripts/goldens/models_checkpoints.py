"""Small checkpoint files in the layouts fmboost's loaders accept, and PyTorch outputs for them.

Run: /usr/bin/python3 scripts/goldens/models_checkpoints.py   (from anywhere; torch 1.13, numpy)
Writes tests/fixtures/models/ckpt/:
  vae_plain.ckpt           torch.save(vae.state_dict()) plus loss.* keys (an LDM autoencoder checkpoint's training
                           loss, not VAE weights)                  (sd_ae.ckpt layout, LDM names)
  vae_ldm_full.ckpt        {'state_dict': first_stage_model.* + model.diffusion_model.* + cond_stage_model.*}
                           (a whole LDM/SD checkpoint; only the VAE keys belong to the VAE)
  vae_diffusers.safetensors      diffusers AutoencoderKL names, attention as Linear [C, C] (to_q/to_k/to_v/to_out.0)
  vae_diffusers_old.safetensors  the same with the older diffusers attention names (query/key/value/proj_attn)
  unet_lightning.ckpt      a reference-style Lightning checkpoint: state_dict with model.net.* (online),
                           ema_model.ema_model.net.* (EMA, different values), first_stage.* (the VAE); epoch,
                           global_step, hyper_parameters (fm_cfg → net_cfg → EfficientUNet params), optimizer_states
  vae_missing_key.ckpt     vae_plain without decoder.up.0.block.0.conv2.bias
  vae_wrong_shape.ckpt     vae_plain with encoder.mid.block_1.conv1.weight of the wrong shape
  goldens.safetensors      inputs and PyTorch outputs: vae.image, vae.mean, vae.logvar, vae.decoded,
                           unet.x, unet.t, unet.context, unet.out_ema, unet.out_online
  configs.json             the configs used (for the tests' reference)

The diffusers names are produced from the LDM names by an explicit map written from diffusers' AutoencoderKL
module layout (diffusers is not needed): encoder.down.i.block.j → encoder.down_blocks.i.resnets.j,
encoder.down.i.attn.j → …attentions.j, down.i.downsample → down_blocks.i.downsamplers.0, decoder.up.L → up_blocks.(n−1−L)
(diffusers counts decoder blocks from the lowest resolution), mid.block_1/2 → mid_block.resnets.0/1,
mid.attn_1 → mid_block.attentions.0, nin_shortcut → conv_shortcut, norm_out → conv_norm_out; in attention
norm → group_norm, q/k/v → to_q/to_k/to_v (old: query/key/value), proj_out → to_out.0 (old: proj_attn), with
the 1×1 conv weights [C, C, 1, 1] stored as Linear weights [C, C].
"""
import json
import math
import os
import re
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models_reference as R  # noqa: E402
from models_fixtures import randomize, write_st  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "models", "ckpt")

# Tiny, but with every kind of VAE key: 2 levels, attention in level 1 (256 / 2 = 128), a nin_shortcut.
# norm_groups 4 keeps it tiny (the reference always uses 32; not inferable from shapes, so tests pass it).
VAE_DD = dict(attn_type="vanilla", double_z=True, z_channels=4, resolution=256, in_channels=3, out_ch=3, ch=8,
              ch_mult=[1, 2], num_res_blocks=1, attn_resolutions=[128], dropout=0.0)
VAE_EMBED = 4
VAE_GROUPS = 4
UNET_CFG = dict(in_channels=8, model_channels=8, out_channels=4, num_res_blocks=1, attention_resolutions=[2], dropout=0.0,
                channel_mult=[1, 2], conv_resample=True, dim_head=4, num_heads=2, use_linear_attn=False,
                use_scale_shift_norm=True, pool_factor=-1, norm_groups=4)


def ldm_to_diffusers(key, n_levels, old_attn):
    """One LDM VAE key → diffusers' AutoencoderKL name."""
    attn = [("norm.", "group_norm."), ("q.", "query." if old_attn else "to_q."), ("k.", "key." if old_attn else "to_k."),
            ("v.", "value." if old_attn else "to_v."), ("proj_out.", "proj_attn." if old_attn else "to_out.0.")]

    def attn_part(rest):
        for a, b in attn:
            if rest.startswith(a):
                return b + rest[len(a):]
        raise KeyError(rest)

    def res_part(rest):
        return "conv_shortcut." + rest[len("nin_shortcut."):] if rest.startswith("nin_shortcut.") else rest

    m = re.match(r"^(encoder|decoder)\.norm_out\.(.+)$", key)
    if m:
        return f"{m[1]}.conv_norm_out.{m[2]}"
    m = re.match(r"^(encoder|decoder)\.mid\.block_(\d)\.(.+)$", key)
    if m:
        return f"{m[1]}.mid_block.resnets.{int(m[2]) - 1}.{res_part(m[3])}"
    m = re.match(r"^(encoder|decoder)\.mid\.attn_1\.(.+)$", key)
    if m:
        return f"{m[1]}.mid_block.attentions.0.{attn_part(m[2])}"
    m = re.match(r"^encoder\.down\.(\d+)\.block\.(\d+)\.(.+)$", key)
    if m:
        return f"encoder.down_blocks.{m[1]}.resnets.{m[2]}.{res_part(m[3])}"
    m = re.match(r"^encoder\.down\.(\d+)\.attn\.(\d+)\.(.+)$", key)
    if m:
        return f"encoder.down_blocks.{m[1]}.attentions.{m[2]}.{attn_part(m[3])}"
    m = re.match(r"^encoder\.down\.(\d+)\.downsample\.conv\.(.+)$", key)
    if m:
        return f"encoder.down_blocks.{m[1]}.downsamplers.0.conv.{m[2]}"
    m = re.match(r"^decoder\.up\.(\d+)\.(block|attn)\.(\d+)\.(.+)$", key)
    if m:
        i = n_levels - 1 - int(m[1])
        if m[2] == "block":
            return f"decoder.up_blocks.{i}.resnets.{m[3]}.{res_part(m[4])}"
        return f"decoder.up_blocks.{i}.attentions.{m[3]}.{attn_part(m[4])}"
    m = re.match(r"^decoder\.up\.(\d+)\.upsample\.conv\.(.+)$", key)
    if m:
        return f"decoder.up_blocks.{n_levels - 1 - int(m[1])}.upsamplers.0.conv.{m[2]}"
    if re.match(r"^(encoder|decoder)\.(conv_in|conv_out)\.", key) or re.match(r"^(post_)?quant_conv\.", key):
        return key
    raise KeyError(key)


def diffusers_sd(sd, n_levels, old_attn):
    out = {}
    for k, v in sd.items():
        d = ldm_to_diffusers(k, n_levels, old_attn)
        is_attn_w = re.search(r"\.(mid\.attn_1|attn\.\d+)\.(q|k|v|proj_out)\.weight$", k)
        out[d] = v.reshape(v.shape[0], v.shape[1]) if is_attn_w else v
    assert len(out) == len(sd)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1234)

    vae = R.VAE(VAE_DD, VAE_EMBED, VAE_GROUPS)
    randomize(vae, g)
    vsd = {k: v.detach().clone() for k, v in vae.state_dict().items()}
    n_levels = len(VAE_DD["ch_mult"])

    # An LDM autoencoder checkpoint also holds its training loss (LPIPS, discriminator, logvar): not VAE weights.
    plain = dict(vsd, **{"loss.logvar": torch.zeros(()), "loss.discriminator.main.0.weight": torch.zeros(4, 3, 4, 4)})
    torch.save(plain, os.path.join(OUT, "vae_plain.ckpt"))
    full = {f"first_stage_model.{k}": v for k, v in vsd.items()}
    full["model.diffusion_model.input_blocks.0.0.weight"] = torch.randn(8, 4, 3, 3, generator=g)
    full["model.diffusion_model.out.2.bias"] = torch.randn(4, generator=g)
    full["cond_stage_model.transformer.embeddings.position_ids"] = torch.arange(7).reshape(1, 7)
    torch.save({"state_dict": full, "global_step": 470000}, os.path.join(OUT, "vae_ldm_full.ckpt"))
    write_st(os.path.join(OUT, "vae_diffusers.safetensors"), diffusers_sd(vsd, n_levels, False))
    write_st(os.path.join(OUT, "vae_diffusers_old.safetensors"), diffusers_sd(vsd, n_levels, True))

    missing = dict(vsd)
    del missing["decoder.up.0.block.0.conv2.bias"]
    torch.save(missing, os.path.join(OUT, "vae_missing_key.ckpt"))
    wrong = dict(vsd)
    w = wrong["encoder.mid.block_1.conv1.weight"]
    wrong["encoder.mid.block_1.conv1.weight"] = torch.zeros(w.shape[0], w.shape[1], 1, 1)
    torch.save(wrong, os.path.join(OUT, "vae_wrong_shape.ckpt"))

    # UNet: online weights and an EMA copy with different values.
    net = R.UNet(**UNET_CFG)
    randomize(net, g)
    online = {k: v.detach().clone() for k, v in net.state_dict().items()}
    ema = {k: v + 0.05 * torch.randn(v.shape, generator=g) for k, v in online.items()}
    sd = {}
    sd.update({f"model.net.{k}": v for k, v in online.items()})
    sd.update({f"ema_model.ema_model.net.{k}": v for k, v in ema.items()})
    sd["ema_model.decay"] = torch.tensor(0.9999)
    sd["ema_model.num_updates"] = torch.tensor(1000, dtype=torch.int32)
    sd.update({f"first_stage.{k}": v for k, v in vsd.items()})
    ref_cfg = {k: v for k, v in UNET_CFG.items()}
    hp = {
        "fm_cfg": {"target": "fmboost.flow.FlowModel", "params": {"schedule": "linear", "net_cfg": {
            "target": "fmboost.models.unet.model.EfficientUNet", "params": ref_cfg}}},
        "first_stage_cfg": {"target": "fmboost.kl_autoencoder.AutoencoderKL", "params": {"ckpt_path": "checkpoints/sd_ae.ckpt"}},
        "scale_factor": 0.18215, "concat_context": True, "noising_step": 400,
    }
    some = next(iter(online.values()))
    ckpt = {"epoch": 3, "global_step": 1000, "pytorch-lightning_version": "2.0.0", "state_dict": sd,
            "hyper_parameters": hp, "lr_schedulers": [],
            "optimizer_states": [{"state": {0: {"step": torch.tensor(1000.0), "exp_avg": torch.zeros_like(some)}},
                                  "param_groups": [{"lr": 1e-4, "params": [0]}]}]}
    torch.save(ckpt, os.path.join(OUT, "unet_lightning.ckpt"))

    # PyTorch outputs for the same inputs.
    T = {}
    with torch.no_grad():
        img = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
        post = vae.encode(img)
        T.update({"vae.image": img, "vae.mean": post.mean, "vae.logvar": post.logvar, "vae.decoded": vae.decode(post.mean)})
        x = torch.randn(2, 4, 8, 8, generator=g)
        ctx = torch.randn(2, 4, 8, 8, generator=g)
        t = torch.rand(2, generator=g)
        T.update({"unet.x": x, "unet.context": ctx, "unet.t": t})
        net.load_state_dict(ema)
        T["unet.out_ema"] = net(x, t, context=ctx)
        net.load_state_dict(online)
        T["unet.out_online"] = net(x, t, context=ctx)
    assert (T["unet.out_ema"] - T["unet.out_online"]).abs().max() > 1e-2
    write_st(os.path.join(OUT, "goldens.safetensors"), T)
    json.dump({"vae": {"ddconfig": VAE_DD, "embed_dim": VAE_EMBED, "norm_groups": VAE_GROUPS}, "unet": UNET_CFG},
              open(os.path.join(OUT, "configs.json"), "w"), indent=1)
    for f in sorted(os.listdir(OUT)):
        print(f"{f}: {os.path.getsize(os.path.join(OUT, f))} bytes")


if __name__ == "__main__":
    main()
