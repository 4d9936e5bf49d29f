#!/usr/bin/env bash
# Issue 14, training in bf16 + channels_last against fp32: the same 300 steps (same seed, data, schedule) of both
# stages of the bundled model's recipe at train.precision fp32 and bf16, then docs/figures/precision_{flow,ae}.png
# (loss curves, with each run's measured step rate in the legend). Runs one training at a time (2 threads each):
# about 25 min on 2 cores. Logs: logs/precision/.
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS=${STEPS:-300}
common="train.max_steps=$STEPS train.val.every=0 train.checkpoint_every=0 train.log.every=10"
for p in fp32 bf16; do
  # stage 2 (the CFM UNet) in the bundled VAE's latent space, from scratch; scale_factor fixed (as the bundle's)
  npx fmboost train --config configs/default/cfm.yaml --name precision/cfm-$p --logdir logs \
    model.vae.path=models/default/fmboost-default.safetensors model.flow.scale_by_std=false \
    model.flow.scale_factor=0.7711146361543955 train.precision=$p $common
  # stage 1 (the f4c8 autoencoder), from scratch (PCA-initialised shortcut)
  npx fmboost train --config configs/default/vae.yaml --name precision/vae-$p --logdir logs train.precision=$p $common
done
node scripts/docs/precision_curves.mjs logs/precision
