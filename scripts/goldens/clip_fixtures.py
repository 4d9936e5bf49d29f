"""Fixtures for the CLIP BPE tokenizer and the CLIP text encoder (src/models/clip), made by openai/CLIP's own code.

Run (from the repository root; torch 1.13, numpy, python3-regex):
    mkdir -p /tmp/clipref/clip && for f in clip/simple_tokenizer.py clip/model.py clip/bpe_simple_vocab_16e6.txt.gz; do
      git -C /work/.mirror/openai+CLIP/repo show HEAD:$f > /tmp/clipref/$f; done
    # optional, for the real ftfy (else an identity shim is used and the cases that need ftfy are left out):
    mkdir -p /tmp/clipref/pydeps && (cd /tmp/clipref/pydeps && for w in /opt/pypi/files/ftfy-*.whl /opt/pypi/files/wcwidth-*.whl; do /usr/bin/python3 -m zipfile -e $w .; done)
    CLIP_REF=/tmp/clipref /usr/bin/python3 scripts/goldens/clip_fixtures.py

Writes into tests/fixtures/models/clip/:
  tokenizer/vocab.json, tokenizer/merges.txt   a vocabulary made for the test from the first N_MERGES merges of the
      real CLIP merges file, in the reference's order (256 byte unicodes, their '</w>' forms, one token per merge, then
      <|startoftext|> and <|endoftext|>), written as a Hugging Face tokenizer folder (merges.txt starts with '#version').
  tokenizer_cases.json   ids from the REFERENCE SimpleTokenizer.encode (clip/simple_tokenizer.py, unchanged; it reads
      our truncated merges file) for varied strings. ftfy.fix_text is the real ftfy when importable, else identity.
  text_tiny.safetensors + .json   the reference text path of clip/model.py (CLIP.encode_text up to ln_final, i.e. the
      last hidden state SD conditions on) at a tiny random config: param.<HF key> weights, input.ids (int64),
      output.last_hidden_state. The reference's nn.MultiheadAttention in_proj_weight/in_proj_bias [3w, w] are split
      into HF's q_proj/k_proj/v_proj (rows 0:w, w:2w, 2w:3w); the other names are renamed (see hf_name).
  vit_l14_text_keys.json   HF key names and shapes of the real SD1.5 text encoder (CLIP ViT-L/14 text path),
      from the reference model built at that config and renamed the same way.
"""
import gzip
import importlib.util
import json
import os
import struct
import sys
import types

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "models", "clip")
REF = os.environ.get("CLIP_REF", "/tmp/clipref")
N_MERGES = 3000

sys.path.insert(0, os.path.join(REF, "pydeps"))
try:
    import ftfy  # noqa: F401
    FTFY = "ftfy " + ftfy.__version__
except ImportError:
    # Identity shim: fine for the cases below marked needs_ftfy=False (text ftfy leaves alone).
    ftfy = types.ModuleType("ftfy")
    ftfy.fix_text = lambda s: s
    sys.modules["ftfy"] = ftfy
    FTFY = None


def load_ref(name):
    """Imports clip/<name>.py by path (the package's __init__ pulls in clip.py, which needs torchvision)."""
    spec = importlib.util.spec_from_file_location("clip_" + name, os.path.join(REF, "clip", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_tok = load_ref("simple_tokenizer")
SimpleTokenizer, bytes_to_unicode = _tok.SimpleTokenizer, _tok.bytes_to_unicode
clip_model = load_ref("model")


def write_st(path, tensors):
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k].detach().contiguous()
        if t.dtype == torch.int64:
            a, tag = t.numpy().astype("<i8").tobytes(), "I64"
        else:
            a, tag = t.float().numpy().tobytes(), "F32"
        header[k] = {"dtype": tag, "shape": list(t.shape), "data_offsets": [off, off + len(a)]}
        blobs.append(a)
        off += len(a)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


# --- (a) tokenizer ------------------------------------------------------------------------------------------------

CASES = [
    # (text, needs_ftfy): needs_ftfy marks text the real ftfy.fix_text changes (curly quotes, ligatures, width, NFC).
    ("a photo of an astronaut riding a horse on mars", False),
    ("", False),
    ("   ", False),
    ("Hello,   World!!  How are   you?", False),
    ("don't it's we're they've I'm you'll he'd", False),
    ("DON'T SHOUT'S 'tis", False),
    ("3.14159 is pi; 42nd street, 1,000,000 people", False),
    ("tabs\tand\nnew\r\nlines", False),
    ("naïve café Straße über", False),
    ("İstanbul ΑΘΗΝΑ привет мир", False),
    ("日本語のテキスト 中文 한국어", False),
    ("emoji 🙂🚀 👩‍👩‍👧 ❤️ flags 🇫🇷", False),
    ("rock &amp; roll &lt;3 &#39;quoted&#39; &amp;amp;", False),
    ("symbols: @#$%^&*()_+-=[]{}|\\;:\"<>,./? ~`", False),
    ("<|startoftext|>inside<|endoftext|> tokens", False),
    ("mixedCASE camelCaseWords snake_case_words kebab-case", False),
    ("x²+y³ ½ ① Ⅻ ٣ 𝟘", False),
    ("a,b.c!d?e", False),
    ("masterpiece, best quality, ultra-detailed, 8k, hdr, (cinematic lighting:1.2), [sharp focus]", False),
    (" ".join(["a very long prompt about a cat sitting on a mat"] * 12), False),
    ("supercalifragilisticexpialidocious antidisestablishmentarianism", False),
    ("don\u2019t \u201cquote\u201d me", True),
    ("\ufb01ne \ufb02ow of o\ufb03ce", True),
    ("\uff26\uff35\uff2c\uff2c\u3000\uff57\uff49\uff44\uff54\uff48\uff01", True),
    ("cafe\u0301 nai\u0308ve", True),
    ("wait&hellip; it&#x2019;s &amp x &nbsp;&copy 2024 &ampx &#128512; &#0; &#150;", True),
    ("ΟΔΥΣΣΕΥΣ σοφός it'ſ \u212a", True),
    ("\ufeffbom, zero\u200bwidth, nbsp\u00a0and\u2003em\x85next\x07bell \x1b[31mred\x1b[0m", True),
    ("line one &amp; two\n<b>bold &amp; html</b>\nthree &amp;", True),
]


def tokenizer_fixtures():
    with gzip.open(os.path.join(REF, "clip", "bpe_simple_vocab_16e6.txt.gz")) as f:
        lines = f.read().decode("utf-8").split("\n")
    header, merges = lines[0], lines[1:1 + N_MERGES]
    assert "#version" in header, header  # the real file's first line is "bpe_simple_vocab_16e6.txt#version: 0.2"
    os.makedirs(os.path.join(OUT, "tokenizer"), exist_ok=True)
    bpe_path = os.path.join(REF, f"bpe_first{N_MERGES}.txt.gz")
    with gzip.open(bpe_path, "wb") as f:  # no trailing newline: the reference would read it as an empty merge
        f.write("\n".join([header] + merges).encode("utf-8"))
    tok = SimpleTokenizer(bpe_path=bpe_path)  # the reference, unchanged, on the shorter merges list
    assert len(tok.bpe_ranks) == N_MERGES

    # vocab.json in the reference's order (its encoder dict), merges.txt as HF writes it.
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    assert dict(zip(vocab, range(len(vocab)))) == tok.encoder, "vocab order differs from the reference's encoder"
    with open(os.path.join(OUT, "tokenizer", "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(tok.encoder, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(OUT, "tokenizer", "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")

    cases = []
    for text, needs in CASES:
        if needs and FTFY is None:
            print(f"skipping (needs ftfy): {text!r}")
            continue
        cases.append({"text": text, "ids": tok.encode(text), "needs_ftfy": needs})
    side = {
        "what": "ids from openai/CLIP clip/simple_tokenizer.py SimpleTokenizer.encode (no BOS/EOS) with the first "
                f"{N_MERGES} merges of bpe_simple_vocab_16e6.txt.gz; made by scripts/goldens/clip_fixtures.py",
        "ftfy": FTFY or "identity shim",
        "vocab_size": len(tok.encoder),
        "bos": tok.encoder["<|startoftext|>"],
        "eos": tok.encoder["<|endoftext|>"],
        "cases": cases,
    }
    with open(os.path.join(OUT, "tokenizer_cases.json"), "w", encoding="utf-8") as f:  # one case a line
        head = json.dumps({k: v for k, v in side.items() if k != "cases"}, ensure_ascii=False, indent=1)[:-2]
        f.write(head + ',\n "cases": [\n  ' + ",\n  ".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n ]\n}\n")
    print(f"tokenizer: vocab {len(tok.encoder)}, {len(cases)} cases, ftfy: {side['ftfy']}, longest {max(len(c['ids']) for c in cases)} ids")


# --- (b) text encoder ---------------------------------------------------------------------------------------------

def build_clip(context, vocab, width, layers, heads):
    """The reference CLIP; its vision tower at the smallest size the constructor allows (unused here)."""
    return clip_model.CLIP(embed_dim=16, image_resolution=32, vision_layers=1, vision_width=64, vision_patch_size=16,
                           context_length=context, vocab_size=vocab, transformer_width=width,
                           transformer_heads=heads, transformer_layers=layers)


def reference_last_hidden_state(m, text):
    """CLIP.encode_text (clip/model.py) up to and including ln_final, with the reference's own modules."""
    x = m.token_embedding(text).type(m.dtype)
    x = x + m.positional_embedding.type(m.dtype)
    x = x.permute(1, 0, 2)
    x = m.transformer(x)
    x = x.permute(1, 0, 2)
    return m.ln_final(x).type(m.dtype)


def hf_state_dict(m):
    """The text path's weights under HF CLIPTextModel names (in_proj split into q/k/v)."""
    out = {
        "text_model.embeddings.token_embedding.weight": m.token_embedding.weight,
        "text_model.embeddings.position_embedding.weight": m.positional_embedding,
        "text_model.final_layer_norm.weight": m.ln_final.weight,
        "text_model.final_layer_norm.bias": m.ln_final.bias,
    }
    w = m.transformer.width
    for i, blk in enumerate(m.transformer.resblocks):
        p = f"text_model.encoder.layers.{i}."
        for j, n in enumerate(["q_proj", "k_proj", "v_proj"]):
            out[p + f"self_attn.{n}.weight"] = blk.attn.in_proj_weight[j * w:(j + 1) * w]
            out[p + f"self_attn.{n}.bias"] = blk.attn.in_proj_bias[j * w:(j + 1) * w]
        out[p + "self_attn.out_proj.weight"] = blk.attn.out_proj.weight
        out[p + "self_attn.out_proj.bias"] = blk.attn.out_proj.bias
        out[p + "layer_norm1.weight"], out[p + "layer_norm1.bias"] = blk.ln_1.weight, blk.ln_1.bias
        out[p + "mlp.fc1.weight"], out[p + "mlp.fc1.bias"] = blk.mlp.c_fc.weight, blk.mlp.c_fc.bias
        out[p + "mlp.fc2.weight"], out[p + "mlp.fc2.bias"] = blk.mlp.c_proj.weight, blk.mlp.c_proj.bias
        out[p + "layer_norm2.weight"], out[p + "layer_norm2.bias"] = blk.ln_2.weight, blk.ln_2.bias
    n_text = sum(p.numel() for k, p in m.named_parameters() if not k.startswith("visual.") and k not in ("text_projection", "logit_scale"))
    assert sum(t.numel() for t in out.values()) == n_text, "the HF names must cover the whole text path"
    return out


def text_fixtures():
    torch.manual_seed(0)
    cfg = dict(vocab_size=600, max_position_embeddings=77, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
               intermediate_size=128, hidden_act="quick_gelu", layer_norm_eps=1e-5)
    m = build_clip(cfg["max_position_embeddings"], cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # every weight random, biases and norms included, so none of them can be wrong unseen
        for name, p in m.named_parameters():
            if name.startswith("visual.") or name in ("text_projection", "logit_scale"):
                continue
            if p.ndim == 1:
                p.copy_((1 if name.endswith("weight") else 0) + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (0.5 if "embedding" in name else p.shape[-1] ** -0.5))
    V, L = cfg["vocab_size"], cfg["max_position_embeddings"]
    bos, eos = V - 2, V - 1
    row0 = [bos] + torch.randint(0, V - 2, (12,), generator=g).tolist() + [eos] * (L - 13)  # a padded prompt
    row1 = torch.randint(0, V, (L,), generator=g).tolist()  # anything, full length
    ids = torch.tensor([row0, row1], dtype=torch.int64)
    with torch.no_grad():
        out = reference_last_hidden_state(m, ids)
    T = {"param." + k: v for k, v in hf_state_dict(m).items()}
    T["input.ids"] = ids
    T["output.last_hidden_state"] = out
    write_st(os.path.join(OUT, "text_tiny.safetensors"), T)
    side = {"what": "openai/CLIP clip/model.py text path (encode_text up to ln_final) at a tiny random config; weights under "
                    "HF CLIPTextModel names (in_proj split into q/k/v); made by scripts/goldens/clip_fixtures.py",
            "config": cfg, "output_abs_max": float(out.abs().max())}
    json.dump(side, open(os.path.join(OUT, "text_tiny.json"), "w"), indent=1)
    print(f"text_tiny: {os.path.getsize(os.path.join(OUT, 'text_tiny.safetensors'))} bytes, |out|max {side['output_abs_max']:.3f}")

    # The real text encoder (vit_l14_text): the reference at that config, renamed.
    real = build_clip(77, 49408, 768, 12, 12)
    keys = {k: list(v.shape) for k, v in hf_state_dict(real).items()}
    json.dump({"what": "HF CLIPTextModel keys and shapes of CLIP ViT-L/14's text encoder (SD1.5's cond_stage_model.transformer), "
                       "from openai/CLIP clip/model.py at vocab 49408, context 77, width 768, 12 layers, 12 heads; made by "
                       "scripts/goldens/clip_fixtures.py",
               "params": sum(int(np.prod(s)) for s in keys.values()), "keys": keys},
              open(os.path.join(OUT, "vit_l14_text_keys.json"), "w"), indent=1)
    print(f"vit_l14_text: {len(keys)} keys")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    tokenizer_fixtures()
    text_fixtures()
