"""Parity fixtures for src/diffusion: the REFERENCE samplers run on a toy eps-model.

Run: /usr/bin/python3 scripts/goldens/diffusion_samplers.py   (from the repository root; torch 1.13, numpy)
Writes tests/fixtures/diffusion/{schedule,ddim,euler,lcm}.safetensors + cases.json.

Reference code (read from the git mirrors, materialised into a temp folder OUTSIDE the repository):
  - CompVis/stable-diffusion: ldm/models/diffusion/ddim.py (DDIMSampler), ldm/modules/diffusionmodules/util.py,
    ldm/util.py; DDPM.register_schedule is taken out of ldm/models/diffusion/ddpm.py with `ast` and bound to a toy
    model class (ddpm.py itself imports pytorch_lightning/torchvision, which are not installed).
  - crowsonkb/k-diffusion: k_diffusion/{sampling,external,utils}.py under an empty package __init__ (the real one
    imports the training code).
  - huggingface/diffusers: src/diffusers/schedulers/scheduling_lcm.py unchanged, inside a minimal package whose
    configuration_utils / utils / utils.torch_utils / scheduling_utils are stand-ins written below (ConfigMixin,
    register_to_config storing the init arguments as .config, BaseOutput, logging, randn_tensor = torch.randn with
    the given generator). get_guidance_scale_embedding is taken out of
    pipelines/latent_consistency_models/pipeline_latent_consistency_text2img.py with `ast`.
Shims for modules the references import but these code paths never use: einops, tqdm, scipy, torchdiffeq, torchsde,
safetensors, torchvision. DDIMSampler.register_buffer moves buffers to CUDA; it is replaced by a plain setattr.

The toy model, written identically in tests/diffusion/*.test.ts:
    eps(x, t, c) = (0.2 + 0.0008·t)·x + 0.1·sin(x) [+ 0.1·c[:, :, None, None]·tanh(x), conditioning c of shape [N, 4]]
(close to x at t = 999, like a real eps-model at high noise, so the latents stay O(1) and absolute errors mean something)
Every noise draw the references make is recorded (noise_like / default_noise_sampler / randn_tensor wrapped), as
are the times the model is called with, so our samplers can be fed the same noise. The draws come from seeded
generators; the seeds are stored too.
"""
import ast
import atexit
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import types

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "diffusion")
MIRROR = os.environ.get("FMBOOST_MIRROR", "/work/.mirror")
REPOS = {
    "compvis": os.path.join(MIRROR, "CompVis+stable-diffusion", "repo"),
    "kdiff": os.path.join(MIRROR, "crowsonkb+k-diffusion", "repo"),
    "diffusers": os.path.join(MIRROR, "huggingface+diffusers", "repo"),
}


def git_show(repo, path):
    return subprocess.check_output(["git", "-C", REPOS[repo], "show", "HEAD:" + path]).decode()


def git_head(repo):
    return subprocess.check_output(["git", "-C", REPOS[repo], "rev-parse", "HEAD"]).decode().strip()


def put(root, rel, text):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)


def extract_function(source, name, cls=None):
    """The source text of a top-level function or of a method of class `cls`, dedented."""
    tree = ast.parse(source)
    nodes = tree.body
    if cls is not None:
        nodes = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls).body
    fn = next(n for n in nodes if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = source.splitlines()
    start = min([d.lineno for d in fn.decorator_list] + [fn.lineno]) - 1
    return textwrap.dedent("\n".join(lines[start:fn.end_lineno]))


def materialise():
    tmp = tempfile.mkdtemp(prefix="fmboost_diffusion_ref_")
    atexit.register(shutil.rmtree, tmp, True)
    # -- shims (only names the imports need; none is called on these code paths)
    put(tmp, "einops/__init__.py", "def rearrange(*a, **k):\n    raise NotImplementedError\nrepeat = rearrange\n")
    put(tmp, "tqdm/__init__.py", "def tqdm(it=None, *a, **k):\n    return it\ndef trange(*a, **k):\n    return range(*a)\n")
    put(tmp, "tqdm/auto.py", "from tqdm import tqdm, trange\n")
    put(tmp, "scipy/__init__.py", "")
    put(tmp, "scipy/integrate.py", "")
    put(tmp, "torchdiffeq/__init__.py", "def odeint(*a, **k):\n    raise NotImplementedError\n")
    put(tmp, "torchsde/__init__.py", "class BrownianTree:\n    pass\n")
    put(tmp, "safetensors/__init__.py", "")
    put(tmp, "torchvision/__init__.py", "")
    put(tmp, "torchvision/transforms/__init__.py", "")
    put(tmp, "torchvision/transforms/functional.py", "")
    # -- CompVis
    for p in ["ldm/models/diffusion/ddim.py", "ldm/modules/diffusionmodules/util.py", "ldm/util.py"]:
        put(tmp, p, git_show("compvis", p))
    for p in ["ldm/__init__.py", "ldm/models/__init__.py", "ldm/models/diffusion/__init__.py", "ldm/modules/__init__.py",
              "ldm/modules/diffusionmodules/__init__.py"]:
        put(tmp, p, "")
    register_schedule = extract_function(git_show("compvis", "ldm/models/diffusion/ddpm.py"), "register_schedule", "DDPM")
    # -- k-diffusion
    for p in ["k_diffusion/sampling.py", "k_diffusion/external.py", "k_diffusion/utils.py"]:
        put(tmp, p, git_show("kdiff", p))
    put(tmp, "k_diffusion/__init__.py", "")
    # -- diffusers: the LCM scheduler file as is, its imports stood in for
    put(tmp, "diffusers_min/schedulers/scheduling_lcm.py", git_show("diffusers", "src/diffusers/schedulers/scheduling_lcm.py"))
    put(tmp, "diffusers_min/__init__.py", "")
    put(tmp, "diffusers_min/schedulers/__init__.py", "")
    put(tmp, "diffusers_min/configuration_utils.py", textwrap.dedent('''\
        import functools, inspect, types
        class ConfigMixin:
            pass
        def register_to_config(init):
            sig = inspect.signature(init)
            @functools.wraps(init)
            def wrapper(self, *args, **kwargs):
                bound = sig.bind(self, *args, **kwargs)
                bound.apply_defaults()
                self.config = types.SimpleNamespace(**{k: v for k, v in bound.arguments.items() if k != "self"})
                init(self, *args, **kwargs)
            return wrapper
        '''))
    put(tmp, "diffusers_min/schedulers/scheduling_utils.py", "class SchedulerMixin:\n    pass\n")
    put(tmp, "diffusers_min/utils/__init__.py", textwrap.dedent('''\
        import logging as _logging
        logging = type("logging", (), {"get_logger": staticmethod(_logging.getLogger)})
        class BaseOutput:
            pass
        '''))
    put(tmp, "diffusers_min/utils/torch_utils.py", textwrap.dedent('''\
        import torch
        DRAWS = []
        def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
            # The single-generator path of diffusers' randn_tensor; every draw is recorded.
            x = torch.randn(shape, generator=generator, device=device, dtype=dtype)
            DRAWS.append(x.clone())
            return x
        '''))
    guidance_embedding = extract_function(
        git_show("diffusers", "src/diffusers/pipelines/latent_consistency_models/pipeline_latent_consistency_text2img.py"),
        "get_guidance_scale_embedding", "LatentConsistencyModelPipeline")
    sys.path.insert(0, tmp)
    return tmp, register_schedule, guidance_embedding


def write_st(path, tensors):
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k].detach().contiguous()
        a = t.double().numpy().tobytes() if t.dtype == torch.float64 else t.float().numpy().tobytes()
        header[k] = {"dtype": "F64" if t.dtype == torch.float64 else "F32", "shape": list(t.shape), "data_offsets": [off, off + len(a)]}
        blobs.append(a)
        off += len(a)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


class Recorder:
    """The toy eps-model; records the time argument of every call (first batch element)."""

    def __init__(self):
        self.ts = []

    def __call__(self, x, t, c=None):
        t = t.float().reshape(-1)
        self.ts.append(float(t[0]))
        eps = (0.2 + 0.0008 * t.reshape(-1, 1, 1, 1)) * x + 0.1 * torch.sin(x)
        if c is not None:
            eps = eps + 0.1 * c[:, :, None, None] * torch.tanh(x)
        return eps


def main():
    tmp, register_schedule_src, guidance_src = materialise()
    from functools import partial  # noqa: F401  (names register_schedule needs)
    from ldm.modules.diffusionmodules.util import make_beta_schedule
    import ldm.models.diffusion.ddim as ddim_mod
    from k_diffusion import sampling as K, external as KE
    from diffusers_min.schedulers.scheduling_lcm import LCMScheduler
    import diffusers_min.utils.torch_utils as dtu

    ns = {"np": np, "torch": torch, "partial": partial, "make_beta_schedule": make_beta_schedule,
          "exists": lambda x: x is not None}
    exec(register_schedule_src, ns)
    exec(guidance_src, ns)

    class ToyLDM(torch.nn.Module):
        """Stands in for LatentDiffusion: the reference schedule buffers and apply_model = the toy eps."""
        parameterization = "eps"
        v_posterior = 0.
        register_schedule = ns["register_schedule"]

        def __init__(self, beta_schedule="linear"):
            super().__init__()
            self.register_schedule(beta_schedule=beta_schedule, timesteps=1000, linear_start=0.00085, linear_end=0.012)
            self.rec = Recorder()

        @property
        def device(self):
            return torch.device("cpu")

        def apply_model(self, x, t, c=None):
            return self.rec(x, t, c)

    # DDIMSampler.register_buffer moves every buffer to CUDA; keep them on the CPU.
    ddim_mod.DDIMSampler.register_buffer = lambda self, name, attr: setattr(self, name, attr)
    ddim_draws = []
    orig_noise_like = ddim_mod.noise_like
    ddim_mod.noise_like = lambda *a, **k: ddim_draws.append(orig_noise_like(*a, **k)) or ddim_draws[-1]

    g = torch.Generator().manual_seed(2024)
    x_T = torch.randn(2, 4, 8, 8, generator=g)
    cond = torch.randn(2, 4, generator=g) * 0.3
    uncond = torch.randn(2, 4, generator=g) * 0.3

    cases = {"references": {k: git_head(k) for k in REPOS}, "ddim": [], "euler": [], "lcm": []}

    # ---- schedules
    sched = {}
    for name, ldm_name in [("scaled_linear", "linear"), ("linear", "sqrt_linear")]:
        m = ToyLDM(ldm_name)
        sched[f"ldm.{name}.alphas_cumprod"] = m.alphas_cumprod
        sched[f"ldm.{name}.betas"] = torch.from_numpy(make_beta_schedule(ldm_name, 1000, 0.00085, 0.012))
        lcm = LCMScheduler(beta_schedule=name)
        sched[f"diffusers.{name}.alphas_cumprod"] = lcm.alphas_cumprod
        sched[f"kdiff.{name}.sigmas"] = KE.CompVisDenoiser(m).sigmas
    # guidance-scale embedding (the pipeline passes w = guidance_scale − 1)
    w = torch.tensor([8.0 - 1, 1.0 - 1, 2.5 - 1, 4.0 - 1])
    sched["lcm.w"] = w
    sched["lcm.w_embedding_256"] = ns["get_guidance_scale_embedding"](None, w, embedding_dim=256)
    sched["lcm.w_embedding_7"] = ns["get_guidance_scale_embedding"](None, w, embedding_dim=7)
    write_st(os.path.join(OUT, "schedule.safetensors"), sched)

    # ---- DDIM (CompVis DDIMSampler.sample)
    ddim_t = {"x_T": x_T, "cond": cond, "uncond": uncond}
    for name, steps, eta, seed, scale, disc in [
        ("ddim10_eta0", 10, 0.0, 1, 1.0, "uniform"),
        ("ddim50_eta0", 50, 0.0, 2, 1.0, "uniform"),
        ("ddim10_eta1", 10, 1.0, 3, 1.0, "uniform"),
        ("ddim50_eta1", 50, 1.0, 4, 1.0, "uniform"),
        ("ddim7_eta0.5_cfg7.5", 7, 0.5, 5, 7.5, "uniform"),   # 1000 // 7 = 142: 8 timesteps
        ("ddim12_quad", 12, 0.0, 6, 1.0, "quad"),
    ]:
        model = ToyLDM("linear")
        s = ddim_mod.DDIMSampler(model)
        ddim_draws.clear()
        torch.manual_seed(seed)
        kw = dict(conditioning=cond, unconditional_guidance_scale=scale, unconditional_conditioning=uncond) if scale != 1.0 else {}
        if disc == "uniform":
            out, _ = s.sample(steps, 2, (4, 8, 8), eta=eta, x_T=x_T.clone(), verbose=False, **kw)
        else:
            s.make_schedule(ddim_num_steps=steps, ddim_discretize=disc, ddim_eta=eta, verbose=False)
            out, _ = s.ddim_sampling(None, (2, 4, 8, 8), x_T=x_T.clone())
        ts = [int(v) for v in s.ddim_timesteps]
        ddim_t[f"{name}.x"] = out
        ddim_t[f"{name}.model_t"] = torch.tensor(model.rec.ts, dtype=torch.float64)
        ddim_t[f"{name}.sigmas"] = torch.as_tensor(s.ddim_sigmas).double()
        ddim_t[f"{name}.alphas"] = torch.as_tensor(s.ddim_alphas).double()
        ddim_t[f"{name}.alphas_prev"] = torch.as_tensor(s.ddim_alphas_prev).double()
        if eta > 0:
            ddim_t[f"{name}.noise"] = torch.stack(ddim_draws)
        cases["ddim"].append({"name": name, "steps": steps, "eta": eta, "seed": seed, "guidance_scale": scale,
                              "discretize": disc, "timesteps": ts, "draws": len(ddim_draws) if eta > 0 else 0})
        print(f"{name}: {len(ts)} timesteps, {len(ddim_draws)} draws, |x| max {out.abs().max():.4f}")
    write_st(os.path.join(OUT, "ddim.safetensors"), ddim_t)

    # ---- k-diffusion Euler / Euler ancestral over CompVisDenoiser
    kd_draws = []
    orig_default = K.default_noise_sampler
    K.default_noise_sampler = lambda x: (lambda s, sn: kd_draws.append(orig_default(x)(s, sn)) or kd_draws[-1])
    eu_t = {"x_T": x_T}
    for name, steps, sampler, sigmas_kind, seed in [
        ("euler10", 10, "euler", "discrete", 1),
        ("euler20", 20, "euler", "discrete", 2),
        ("euler10_karras", 10, "euler", "karras", 3),
        ("euler_a10", 10, "euler_ancestral", "discrete", 4),
        ("euler_a8_karras", 8, "euler_ancestral", "karras", 5),
    ]:
        model = ToyLDM("linear")
        den = KE.CompVisDenoiser(model)
        if sigmas_kind == "discrete":
            sigmas = den.get_sigmas(steps)
        else:
            sigmas = K.get_sigmas_karras(steps, den.sigma_min.item(), den.sigma_max.item())
        kd_draws.clear()
        torch.manual_seed(seed)
        x = x_T * sigmas[0]
        fn = K.sample_euler if sampler == "euler" else K.sample_euler_ancestral
        out = fn(den, x, sigmas, disable=True)
        eu_t[f"{name}.x"] = out
        eu_t[f"{name}.sigmas"] = sigmas
        eu_t[f"{name}.model_t"] = torch.tensor(model.rec.ts, dtype=torch.float64)
        if kd_draws:
            eu_t[f"{name}.noise"] = torch.stack(kd_draws)
        cases["euler"].append({"name": name, "steps": steps, "sampler": sampler, "sigmas": sigmas_kind, "seed": seed,
                               "draws": len(kd_draws)})
        print(f"{name}: sigma_max {sigmas[0]:.4f}, {len(kd_draws)} draws, |x| max {out.abs().max():.4f}")
    write_st(os.path.join(OUT, "euler.safetensors"), eu_t)

    # ---- LCM (diffusers LCMScheduler, driven as LatentConsistencyModelPipeline's denoising loop)
    lcm_t = {"x_T": x_T}
    for name, steps, orig_steps, seed in [("lcm4", 4, 50, 7), ("lcm1", 1, 50, 8), ("lcm6_orig30", 6, 30, 9)]:
        sch = LCMScheduler()
        sch.set_timesteps(steps, original_inference_steps=orig_steps)
        rec = Recorder()
        gen = torch.Generator().manual_seed(seed)
        dtu.DRAWS.clear()
        latents = x_T.clone() * sch.init_noise_sigma
        for t in sch.timesteps:
            model_pred = rec(latents, t)
            latents, denoised = sch.step(model_pred, t, latents, generator=gen, return_dict=False)
        lcm_t[f"{name}.x"] = denoised
        lcm_t[f"{name}.model_t"] = torch.tensor(rec.ts, dtype=torch.float64)
        if dtu.DRAWS:
            lcm_t[f"{name}.noise"] = torch.stack(dtu.DRAWS)
        cases["lcm"].append({"name": name, "steps": steps, "original_inference_steps": orig_steps, "seed": seed,
                             "timesteps": [int(v) for v in sch.timesteps], "draws": len(dtu.DRAWS)})
        print(f"{name}: timesteps {[int(v) for v in sch.timesteps]}, {len(dtu.DRAWS)} draws")
    write_st(os.path.join(OUT, "lcm.safetensors"), lcm_t)

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    for n in sorted(os.listdir(OUT)):
        print(n, os.path.getsize(os.path.join(OUT, n)), "bytes")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    main()
