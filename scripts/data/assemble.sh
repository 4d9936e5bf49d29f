#!/usr/bin/env bash
# Assembles the natural-photo data set (see data/README.md):
#   1. `apt-get download` the source packages (no install) into data/cache/debs,
#   2. `dpkg -x` each into data/cache/root/<package>,
#   3. runs dist/scripts/data/assemble.js: photo selection, data/manifest.json, data/test_split.json,
#      and (unless --no-tiles) 256² tiles in data/photos/{train,test}/.
# Extra arguments go to assemble.js (e.g. --tile-size 128 --max-short-side 768).
# Needs Debian's apt (run `apt-get update` once on a fresh machine) and a built tree (`npx tsc -p .`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${FMBOOST_DATA_CACHE:-$ROOT/data/cache}"
PACKAGES=(endless-sky-data lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds
          plasma-workspace-wallpapers python3-skimage opencv-doc)

TILES=(--tiles)
ARGS=()
for a in "$@"; do
  if [[ "$a" == --no-tiles ]]; then TILES=(); else ARGS+=("$a"); fi
done

mkdir -p "$CACHE/debs" "$CACHE/root"
cd "$CACHE/debs"
missing=()
for p in "${PACKAGES[@]}"; do
  compgen -G "${p}_*.deb" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
  if ! apt-cache show "${missing[0]}" >/dev/null 2>&1; then
    echo "apt does not know ${missing[0]}: run 'apt-get update' first (Debian bookworm package lists)" >&2
    exit 1
  fi
  echo "downloading: ${missing[*]}"
  apt-get download "${missing[@]}"
fi

for p in "${PACKAGES[@]}"; do
  debs=( "${p}"_*.deb )
  if ((${#debs[@]} != 1)); then echo "expected one ${p}_*.deb in $CACHE/debs, found ${#debs[@]}" >&2; exit 1; fi
  dest="$CACHE/root/$p"
  stamp="$dest/.extracted-from"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "${debs[0]}" ]]; then
    rm -rf "$dest" && mkdir -p "$dest"
    dpkg -x "${debs[0]}" "$dest"
    echo "${debs[0]}" > "$stamp"
  fi
done
echo "downloaded .deb files: $(du -ch ${PACKAGES[@]/%/_*.deb} | tail -1 | cut -f1)"

cd "$ROOT"
[[ -f dist/scripts/data/assemble.js ]] || npx tsc -p .
node dist/scripts/data/assemble.js --cache "$CACHE" --out "$ROOT/data" "${TILES[@]}" "${ARGS[@]}"
