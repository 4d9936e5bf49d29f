#!/usr/bin/env bash
# Latent-space ablation (configs/ablation/vae.yaml): each candidate trains the same budget from scratch, then
# scripts/ablation/vae_roundtrip.ts scores it on the 46 reported test tiles. Resumable: a finished candidate
# (its last.safetensors exists) is skipped. LOGDIR defaults to logs/ablation.
set -euo pipefail
cd "$(dirname "$0")/../.."
LOGDIR=${LOGDIR:-logs/ablation}
fmb() { node dist/src/cli/main.js "$@"; }
NOATTN="model.vae.attn_type=none"
declare -A C=(
  [f8c4]=""                                                                     # today's vae_small, LDM blocks
  # f8 shortcut candidates (not run: the f8 rows of the table are their PCA starts, pca:8,4 and pca:8,16)
  [f8c4-sc]="model.vae.shortcut=linear"
  [f8c16-sc]="model.vae.shortcut=linear model.vae.z_channels=16 model.vae.embed_dim=16 $NOATTN"
  [f4c8]="model.vae.ch_mult=[1,2,4] model.vae.z_channels=8 model.vae.embed_dim=8 $NOATTN"
  [f4c8-sc]="model.vae.shortcut=linear model.vae.ch_mult=[1,2,4] model.vae.z_channels=8 model.vae.embed_dim=8 $NOATTN"
  [f4c8-sc-ch16]="model.vae.shortcut=linear model.vae.ch=16 model.vae.ch_mult=[1,2,4] model.vae.z_channels=8 model.vae.embed_dim=8 $NOATTN"
  [f4c4-sc-ch16]="model.vae.shortcut=linear model.vae.ch=16 model.vae.ch_mult=[1,2,4] model.vae.z_channels=4 model.vae.embed_dim=4 $NOATTN"
  [f4c16-sc-ch16]="model.vae.shortcut=linear model.vae.ch=16 model.vae.ch_mult=[1,2,4] model.vae.z_channels=16 model.vae.embed_dim=16 $NOATTN"
)
ORDER=(${ONLY:-f4c8-sc-ch16 f4c4-sc-ch16 f4c16-sc-ch16 f4c8-sc f4c8 f8c4})
for n in "${ORDER[@]}"; do
  ck="$LOGDIR/$n/checkpoints/last.safetensors"
  # shellcheck disable=SC2086
  [ -f "$ck" ] || fmb train --config configs/ablation/vae.yaml --name "$n" --logdir "$LOGDIR" ${C[$n]}
done
cks=(); for n in "${ORDER[@]}"; do cks+=("$LOGDIR/$n/checkpoints/last.safetensors"); done
node dist/scripts/ablation/vae_roundtrip.js pca:8,4 pca:8,16 pca:4,4 pca:4,8 pca:4,16 "${cks[@]}" --json "$LOGDIR/roundtrip.json"
