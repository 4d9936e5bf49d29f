"""A TINY Stable-Diffusion-like model (random weights) for the `fmboost generate` tests (src/pipeline/sd_base.ts),
written in both layouts a user brings an SD1.5 / LCM base in.

Run: /usr/bin/python3 scripts/goldens/sd_base_fixture.py   (from the repository root; torch 1.13, numpy, yaml)

Made by REFERENCE code, at tiny configs (the weights are random: the point is the file layouts, not a picture):
- UNet: CompVis/stable-diffusion's UNetModel (materialised from the git mirror by scripts/goldens/sd_unet_fixtures.py,
  imported from there, GroupNorm groups patched to NORM_GROUPS the same way).
- VAE: CompVis/stable-diffusion's ldm/modules/diffusionmodules/model.py Encoder / Decoder (Normalize patched to
  NORM_GROUPS groups) plus AutoencoderKL's quant_conv / post_quant_conv 1x1 convs (ldm/models/autoencoder.py, which
  imports Lightning, is not imported: its two convs are built here exactly as its __init__ does).
- CLIP text encoder: random tensors under HF CLIPTextModel names at a tiny config (width = the UNet's context_dim).
  Our CLIPTextModel's parity with openai/CLIP is tested with scripts/goldens/clip_fixtures.py's fixture; here only
  the names and shapes matter. Its vocabulary is the test tokenizer's (tests/fixtures/models/clip/tokenizer).
- Diffusers names: diffusers' own convert_ldm_unet_checkpoint / convert_ldm_vae_checkpoint / create_*_config
  (huggingface/diffusers convert_from_ckpt.py, taken out of the file with ast, as sd_unet_fixtures.py does).

Writes tests/fixtures/pipeline/sd_tiny/:
  diffusers/   model_index.json, scheduler/scheduler_config.json, unet/, vae/, text_encoder/ (config.json +
               safetensors each), tokenizer/ (vocab.json, merges.txt copied from the test tokenizer)
  tiny_sd.safetensors   the same weights in one original LDM checkpoint: model.diffusion_model.*,
               first_stage_model.*, cond_stage_model.transformer.text_model.*
  tiny.json    what a test needs to load the single file (its config cannot be read off the shapes: heads, groups)
"""
import ast
import json
import logging
import math
import os
import shutil
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "pipeline", "sd_tiny")
TOKENIZER = os.path.join(ROOT, "tests", "fixtures", "models", "clip", "tokenizer")
sys.path.insert(0, os.path.dirname(__file__))
import sd_unet_fixtures as su  # noqa: E402  (materialises CompVis' UNet code and diffusers' converter)

NORM_GROUPS = 4
CONTEXT = 8
UNET = dict(image_size=8, in_channels=4, out_channels=4, model_channels=8, attention_resolutions=[2], num_res_blocks=1,
            channel_mult=[1, 2], num_heads=2, use_spatial_transformer=True, transformer_depth=1, context_dim=CONTEXT,
            use_checkpoint=False, legacy=False)
DDCONFIG = dict(double_z=True, z_channels=4, resolution=32, in_channels=3, out_ch=3, ch=8, ch_mult=[1, 2], num_res_blocks=1,
                attn_resolutions=[], dropout=0.0)
EMBED_DIM = 4
TEXT = dict(vocab_size=None, max_position_embeddings=77, hidden_size=CONTEXT, num_hidden_layers=1, num_attention_heads=1,
            intermediate_size=16)


def vae_reference():
    """CompVis' Encoder / Decoder, from the same temp folder sd_unet_fixtures materialised the UNet into."""
    import ldm  # the temp package
    path = os.path.join(os.path.dirname(ldm.__file__), "modules", "diffusionmodules", "model.py")
    open(path, "w").write(su.git_show(su.SD_REPO, "ldm/modules/diffusionmodules/model.py"))
    import ldm.modules.diffusionmodules.model as vmodel
    vmodel.Normalize = lambda ch, num_groups=32: torch.nn.GroupNorm(num_groups=NORM_GROUPS, num_channels=ch, eps=1e-6, affine=True)
    return vmodel


def vae_converter():
    src = su.git_show(su.DIFFUSERS_REPO, "src/diffusers/pipelines/stable_diffusion/convert_from_ckpt.py")
    wanted = {"shave_segments", "renew_vae_resnet_paths", "renew_vae_attention_paths", "assign_to_checkpoint", "conv_attn_to_linear",
              "create_vae_diffusers_config", "convert_ldm_vae_checkpoint"}
    nodes = [n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    assert {n.name for n in nodes} == wanted, f"diffusers converter changed: found {[n.name for n in nodes]}"
    ns = {"logger": logging.getLogger("convert_from_ckpt"), "torch": torch}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), "convert_from_ckpt.py", "exec"), ns)
    return ns


def randomize_vae(sd, g):
    for k, v in sd.items():
        if v.ndim == 1 and "norm" in k:
            v.copy_(1 + 0.1 * torch.randn(v.shape, generator=g) if k.endswith("weight") else 0.1 * torch.randn(v.shape, generator=g))
        elif v.ndim == 1:
            v.copy_(0.05 * torch.randn(v.shape, generator=g))
        else:
            v.copy_(torch.randn(v.shape, generator=g) / math.sqrt(v[0].numel()))


def text_state_dict(g, vocab):
    w, f = TEXT["hidden_size"], TEXT["intermediate_size"]
    n = lambda *s, scale=0.2: scale * torch.randn(*s, generator=g)
    sd = {"text_model.embeddings.token_embedding.weight": n(vocab, w, scale=0.5),
          "text_model.embeddings.position_embedding.weight": n(TEXT["max_position_embeddings"], w, scale=0.1),
          "text_model.final_layer_norm.weight": 1 + n(w, scale=0.1), "text_model.final_layer_norm.bias": n(w, scale=0.1)}
    for i in range(TEXT["num_hidden_layers"]):
        p = f"text_model.encoder.layers.{i}."
        for m in ["q_proj", "k_proj", "v_proj", "out_proj"]:
            sd[p + f"self_attn.{m}.weight"], sd[p + f"self_attn.{m}.bias"] = n(w, w, scale=1 / math.sqrt(w)), n(w, scale=0.05)
        for ln in ["layer_norm1", "layer_norm2"]:
            sd[p + f"{ln}.weight"], sd[p + f"{ln}.bias"] = 1 + n(w, scale=0.1), n(w, scale=0.1)
        sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"] = n(f, w, scale=1 / math.sqrt(w)), n(f, scale=0.05)
        sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"] = n(w, f, scale=1 / math.sqrt(f)), n(w, scale=0.05)
    return sd


def write_st(path, tensors):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    su.write_st(path, tensors)


def dump(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    json.dump(obj, open(path, "w"), indent=1)


def main():
    g = torch.Generator().manual_seed(4100)
    torch.manual_seed(4100)
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    d = os.path.join(OUT, "diffusers")

    # UNet (reference UNetModel, groups patched), its diffusers names and config from diffusers' converter.
    su.set_norm_groups(NORM_GROUPS)
    try:
        unet = su.openaimodel.UNetModel(**UNET)
    finally:
        su.restore_norms()
    su.randomize(unet, g)
    unet_sd = unet.state_dict()
    dmap, dconf = su.diffusers_map(UNET, unet_sd)
    dconf = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dconf.items() if v is not None}
    dconf.update(_class_name="UNet2DConditionModel", norm_num_groups=NORM_GROUPS, sample_size=8)
    write_st(os.path.join(d, "unet", "diffusion_pytorch_model.safetensors"), {k: unet_sd[o] for k, o in dmap.items()})
    dump(os.path.join(d, "unet", "config.json"), dconf)

    # VAE: the reference Encoder / Decoder + AutoencoderKL's quant convs.
    vmodel = vae_reference()
    enc, dec = vmodel.Encoder(**DDCONFIG), vmodel.Decoder(**DDCONFIG)
    quant = torch.nn.Conv2d(2 * DDCONFIG["z_channels"], 2 * EMBED_DIM, 1)
    post_quant = torch.nn.Conv2d(EMBED_DIM, DDCONFIG["z_channels"], 1)
    vae_sd = {}
    for prefix, m in [("encoder.", enc), ("decoder.", dec), ("quant_conv.", quant), ("post_quant_conv.", post_quant)]:
        for k, v in m.state_dict().items():
            vae_sd[prefix + k] = v
    with torch.no_grad():
        randomize_vae(vae_sd, g)
    conv = vae_converter()
    original = {"model": {"params": {"first_stage_config": {"params": {"ddconfig": DDCONFIG, "embed_dim": EMBED_DIM}}}}}
    vconf = conv["create_vae_diffusers_config"](original, image_size=DDCONFIG["resolution"])
    vae_diffusers = conv["convert_ldm_vae_checkpoint"](dict(vae_sd), vconf)
    vconf = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vconf.items()}
    vconf.update(_class_name="AutoencoderKL", norm_num_groups=NORM_GROUPS, scaling_factor=0.18215, act_fn="silu")
    write_st(os.path.join(d, "vae", "diffusion_pytorch_model.safetensors"), vae_diffusers)
    dump(os.path.join(d, "vae", "config.json"), vconf)

    # Text encoder (HF names) over the test tokenizer's vocabulary.
    vocab = len(json.load(open(os.path.join(TOKENIZER, "vocab.json"))))
    text = text_state_dict(g, vocab)
    tconf = {**TEXT, "vocab_size": vocab, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "architectures": ["CLIPTextModel"],
             "model_type": "clip_text_model"}
    write_st(os.path.join(d, "text_encoder", "model.safetensors"), text)
    dump(os.path.join(d, "text_encoder", "config.json"), tconf)
    os.makedirs(os.path.join(d, "tokenizer"))
    for f in ["vocab.json", "merges.txt"]:
        shutil.copy(os.path.join(TOKENIZER, f), os.path.join(d, "tokenizer", f))

    dump(os.path.join(d, "scheduler", "scheduler_config.json"), {
        "_class_name": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "num_train_timesteps": 1000, "prediction_type": "epsilon", "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1})
    dump(os.path.join(d, "model_index.json"), {
        "_class_name": "StableDiffusionPipeline", "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]})

    # The same weights as one original checkpoint.
    single = {f"model.diffusion_model.{k}": v for k, v in unet_sd.items()}
    single.update({f"first_stage_model.{k}": v for k, v in vae_sd.items()})
    single.update({f"cond_stage_model.transformer.{k}": v for k, v in text.items()})
    write_st(os.path.join(OUT, "tiny_sd.safetensors"), single)
    dump(os.path.join(OUT, "tiny.json"), {
        "what": "a tiny SD-like model with random weights in the diffusers layout (diffusers/) and as one original checkpoint "
                "(tiny_sd.safetensors); made by scripts/goldens/sd_base_fixture.py",
        "single_file_overrides": {"unet": {"num_heads": UNET["num_heads"], "norm_groups": NORM_GROUPS}, "vae": {"norm_groups": NORM_GROUPS}},
        "unet": {k: v for k, v in UNET.items() if k not in ("image_size", "use_spatial_transformer", "use_checkpoint", "legacy")},
        "ddconfig": DDCONFIG, "embed_dim": EMBED_DIM, "text": {**TEXT, "vocab_size": vocab}})
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"unet {sum(v.numel() for v in unet_sd.values())} params, vae {sum(v.numel() for v in vae_sd.values())}, "
          f"text {sum(v.numel() for v in text.values())}; {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
