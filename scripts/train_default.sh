#!/usr/bin/env bash
# The whole recipe of the bundled default model (models/default/fmboost-default.safetensors), resumable:
# every stage continues what an earlier (interrupted) run did. On this project's 2-core CPU machines each
# training stage is hours; run it in the background and re-run the script after a stop.
#   1. data        scripts/data/assemble.sh → data/photos/{train,test} (256² tiles from Debian packages)
#   2. VAE         configs/default/vae.yaml (vae_f4c8: PCA-initialised linear shortcut + conv coder)  → $LOGDIR/default/vae
#   3. CFM         configs/default/cfm.yaml (4×, on the fly from image crops, two degradations)        → $LOGDIR/default/cfm
#   3b. fine-tune  the stage-3 UNet, 3/4 bilinear samples, lr 1e-4 cosine, 3,000 steps                  → $LOGDIR/default/cfm-ft
#   4. bundle      fmboost export --fp16 (EMA UNet + VAE, provenance in its metadata)                   → models/default/
#   5. evaluation  fmboost eval on one tile per test photo, for both degradations                      → docs/eval/{bilinear,bicubic_aa}
#   6. base model  configs/default/base.yaml (unconditional, 64², the bundle's VAE) → export → quality note
#                                                                   → models/default/fmboost-base.safetensors, docs/eval/base
# The committed bundle was made this way: stage 3 is exactly configs/default/cfm.yaml (6,000 steps from scratch,
# 1 h 32 min at 1.1 it/s on a 2-core AMX Xeon; stage 2 took 12 min), with the VAE of the previous bundle, which is
# this recipe's stage 2; then stage 3b (55 min at 1.1 it/s on a 2-core Zen 5) (models/default/training/README.md,
# "Fourth part" and "Fifth part"). In all about 2 h 40 min of training on these machines.
# Environment: LOGDIR (default logs), VAE_STEPS, CFM_STEPS, FT_STEPS, BASE_STEPS (stop points), FMBOOST_THREADS (default: all cores),
# FMBOOST_ESRGAN_MODULES (where the optional ESRGAN packages are installed, for the eval's ESRGAN rows).
set -euo pipefail
cd "$(dirname "$0")/.."
LOGDIR=${LOGDIR:-logs}
VAE_STEPS=${VAE_STEPS:-1500}
CFM_STEPS=${CFM_STEPS:-6000}
FT_STEPS=${FT_STEPS:-3000}
BASE_STEPS=${BASE_STEPS:-4000}
fmb() { node dist/src/cli/main.js "$@"; }

resume_flag() { # $1 = experiment dir: resume from its checkpoints when there are any
  if compgen -G "$1/checkpoints/*.safetensors" > /dev/null; then echo "--resume-checkpoint $1/checkpoints"; fi
}
done_at() { # $1 = experiment dir, $2 = step: true when its last checkpoint is at that step already
  [ -f "$1/checkpoints/last.safetensors" ] && node -e "const h=require('fs').readFileSync('$1/checkpoints/last.safetensors');const n=Number(h.readBigUInt64LE(0));const m=JSON.parse(h.subarray(8,8+n)).__metadata__;process.exit(Number(m.step)>=$2?0:1)"
}

[ -d data/photos/train ] || bash scripts/data/assemble.sh

VAE_DIR="$LOGDIR/default/vae"
# shellcheck disable=SC2046
done_at "$VAE_DIR" "$VAE_STEPS" || fmb train --config configs/default/vae.yaml --name default/vae --logdir "$LOGDIR" $(resume_flag "$VAE_DIR") \
  train.max_steps="$VAE_STEPS"
VAE_CK="$VAE_DIR/checkpoints/last.safetensors"

CFM_DIR="$LOGDIR/default/cfm"
# shellcheck disable=SC2046
done_at "$CFM_DIR" "$CFM_STEPS" || fmb train --config configs/default/cfm.yaml --name default/cfm --logdir "$LOGDIR" $(resume_flag "$CFM_DIR") \
  model.vae.path="$VAE_CK" train.max_steps="$CFM_STEPS"

mkdir -p models/default
# 3b. the bundled model's fine-tune (training README "Fifth part"): the stage-3 EMA UNet trained on with 3/4 bilinear
#     samples, lr 1e-4 cosine, at stage 3's latent scale (scale_by_std off, its value kept)
STAGE3="$LOGDIR/default/cfm-stage3.safetensors"
[ -f "$STAGE3" ] || fmb export "$CFM_DIR/checkpoints/last.safetensors" --out "$STAGE3" --name cfm-stage3
SF=$(node -e "const h=require('fs').readFileSync('$CFM_DIR/checkpoints/last.safetensors');const n=Number(h.readBigUInt64LE(0));console.log(JSON.parse(JSON.parse(h.subarray(8,8+n)).__metadata__.config).model.flow.scale_factor)")
FT_DIR="$LOGDIR/default/cfm-ft"
FT_FROM=$(resume_flag "$FT_DIR"); [ -n "$FT_FROM" ] || FT_FROM="--load-weights $STAGE3"
# shellcheck disable=SC2086
done_at "$FT_DIR" "$FT_STEPS" || fmb train --config configs/default/cfm.yaml --name default/cfm-ft --logdir "$LOGDIR" $FT_FROM \
  model.vae.path="$VAE_CK" model.flow.scale_by_std=false model.flow.scale_factor="$SF" \
  'data.degradations=[bilinear,bilinear,bilinear,bicubic_aa]' train.lr=1e-4 train.max_steps="$FT_STEPS" train.warmup_steps=50 train.val.every=250
fmb export "$FT_DIR/checkpoints/last.safetensors" --out models/default/fmboost-default.safetensors --fp16 --name fmboost-default --solver euler --steps 1 \
  --info "{\"recipe\": \"scripts/train_default.sh\", \"configs\": [\"configs/default/vae.yaml\", \"configs/default/cfm.yaml\"], \"vae_steps\": $VAE_STEPS, \"cfm_steps\": $CFM_STEPS, \"finetune_steps\": $FT_STEPS, \"data\": \"data/manifest.json\", \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\"}"

ESRGAN=()
[ -n "${FMBOOST_ESRGAN_MODULES:-}" ] && ESRGAN=(--esrgan --cache "${EVAL_CACHE:-$LOGDIR/eval-cache}")
for d in bilinear bicubic_aa; do
  fmb eval --model models/default/fmboost-default.safetensors --images data/photos/test --match _r0c0 --degradation "$d" --out "docs/eval/$d" "${ESRGAN[@]}"
done

BASE_DIR="$LOGDIR/default/base"
# shellcheck disable=SC2046
done_at "$BASE_DIR" "$BASE_STEPS" || fmb train --config configs/default/base.yaml --name default/base --logdir "$LOGDIR" $(resume_flag "$BASE_DIR") \
  train.max_steps="$BASE_STEPS"
fmb export "$BASE_DIR/checkpoints/last.safetensors" --out models/default/fmboost-base.safetensors --fp16 --name fmboost-base \
  --info "{\"recipe\": \"scripts/train_default.sh\", \"config\": \"configs/default/base.yaml\", \"steps\": $BASE_STEPS, \"data\": \"data/manifest.json\", \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\"}"
node dist/scripts/docs/base_samples.js --out docs/eval/base
