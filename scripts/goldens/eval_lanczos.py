# PIL Lanczos upscaling of a small deterministic RGB image: the reference for src/eval/lanczos.ts.
# Run: /usr/bin/python3 scripts/goldens/eval_lanczos.py  → tests/goldens/eval_lanczos.json
import json, os
import numpy as np
from PIL import Image, __version__ as pil_version

h, w, H, W = 12, 16, 24, 32
y, x, c = np.meshgrid(np.arange(h), np.arange(w), np.arange(3), indexing='ij')
img = np.clip(128 + 90 * np.sin(x * 0.45 + c) * np.cos(y * 0.35 - c * 0.5) + 10 * ((x + y) % 3 - 1), 0, 255).round().astype(np.uint8)
out = np.asarray(Image.fromarray(img, 'RGB').resize((W, H), Image.LANCZOS))
path = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'goldens', 'eval_lanczos.json')
with open(path, 'w') as f:
    json.dump({'pil': pil_version, 'h': h, 'w': w, 'H': H, 'W': W, 'input_hwc': img.flatten().tolist(), 'output_hwc': out.flatten().tolist()}, f)
print('wrote', path)
