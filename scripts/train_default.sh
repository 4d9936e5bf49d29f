#!/usr/bin/env bash
# The whole recipe of the bundled default model (models/default/fmboost-default.safetensors), resumable:
# every stage skips or continues what an earlier (interrupted) run did. On this project's 2-core CPU
# machines each training stage is hours; run it in the background and re-run the script after a stop.
#   1. data        scripts/data/assemble.sh → data/photos/{train,test} (256² tiles from Debian packages)
#   2. VAE         configs/default/vae.yaml (vae_small, autoencoder mode)         → $LOGDIR/default/vae
#   3. latents     fmboost precompute (HR + PSU latents, unscaled) + their std    → data/latents/default
#   4. CFM         configs/default/cfm.yaml with scale_factor = 1/std             → $LOGDIR/default/cfm
#   5. bundle      fmboost export --fp16 (EMA UNet + VAE)                         → models/default/
#   6. evaluation  fmboost eval on one tile per test photo                        → docs/eval/
# Environment: LOGDIR (default logs), VAE_STEPS, CFM_STEPS (stop points), FMBOOST_THREADS (default: all cores),
# FMBOOST_ESRGAN_MODULES (where the optional ESRGAN packages are installed, for the eval's ESRGAN rows).
set -euo pipefail
cd "$(dirname "$0")/.."
LOGDIR=${LOGDIR:-logs}
VAE_STEPS=${VAE_STEPS:-4000}
CFM_STEPS=${CFM_STEPS:-4000}
fmb() { node dist/src/cli/main.js "$@"; }

resume_flag() { # $1 = experiment dir: resume from its checkpoints when there are any
  if compgen -G "$1/checkpoints/*.safetensors" > /dev/null; then echo "--resume_checkpoint $1/checkpoints"; fi
}

[ -d data/photos/train ] || bash scripts/data/assemble.sh

VAE_DIR="$LOGDIR/default/vae"
# shellcheck disable=SC2046
fmb train --config configs/default/vae.yaml --name default/vae --logdir "$LOGDIR" $(resume_flag "$VAE_DIR") \
  train.max_steps="$VAE_STEPS"
VAE_CK="$VAE_DIR/checkpoints/last.safetensors"

LAT=data/latents/default
fmb precompute --images data/photos/train --vae "$VAE_CK" --vae_preset vae_small --image_size 256 --low_res_size 64 --out "$LAT"
SCALE=$(node -e "console.log(JSON.parse(require('fs').readFileSync('$LAT/manifest.json','utf8')).info.suggested_scale_factor)")
echo "train_default: latent scale_factor = $SCALE"

CFM_DIR="$LOGDIR/default/cfm"
# shellcheck disable=SC2046
fmb train --config configs/default/cfm.yaml --name default/cfm --logdir "$LOGDIR" $(resume_flag "$CFM_DIR") \
  model.vae.path="$VAE_CK" model.flow.scale_factor="$SCALE" train.max_steps="$CFM_STEPS"

mkdir -p models/default
fmb export "$CFM_DIR/checkpoints/last.safetensors" --out models/default/fmboost-default.safetensors --fp16 --name fmboost-default \
  --info "{\"recipe\": \"scripts/train_default.sh\", \"vae_steps\": $VAE_STEPS, \"cfm_steps\": $CFM_STEPS, \"data\": \"data/manifest.json\"}"

ESRGAN=()
[ -n "${FMBOOST_ESRGAN_MODULES:-}" ] && ESRGAN=(--esrgan --cache "${EVAL_CACHE:-$LOGDIR/eval-cache}")
fmb eval --model models/default/fmboost-default.safetensors --images data/photos/test --match _r0c0 --out docs/eval "${ESRGAN[@]}"
