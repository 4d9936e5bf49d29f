#!/usr/bin/env bash
# One-time set-up on Debian/Ubuntu: system libraries (libtorch, OpenBLAS), npm packages, the native
# addon (built from source against that libtorch) and the TypeScript build. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# chromium: the web page test (tests/serve/browser.test.ts) drives it headless through playwright-core;
# libgloo-dev: the Gloo headers c10d's CPU process group is built with (data-parallel training, src/distributed);
# fonts-dejavu-core: the text of charts and labelled images (SVG rendered by sharp / librsvg, src/util/chart.ts)
for pkg in libtorch-dev libgloo-dev libopenblas-dev chromium fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ -z "${LIBTORCH:-}" ] && [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "fmboost setup: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# npm install runs the addon build (native/build.mjs) and tsc (prepare).
npm install --no-audit --no-fund
