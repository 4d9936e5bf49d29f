# .npy files written by NumPy itself, for the pipeline's .npy reader (tests/pipeline/latent_io.test.ts).
# Values follow a closed form the test recomputes: v[i] = i / 8 - 1 for the flat C-order index i.
import os
import numpy as np

out = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'fixtures', 'pipeline')
os.makedirs(out, exist_ok=True)
base = np.arange(2 * 4 * 3 * 5, dtype=np.float64) / 8 - 1
np.save(os.path.join(out, 'latent_f4.npy'), base.astype(np.float32).reshape(2, 4, 3, 5))
np.save(os.path.join(out, 'latent_f8.npy'), base.reshape(2, 4, 3, 5))
np.save(os.path.join(out, 'latent_f2.npy'), base.astype(np.float16).reshape(2, 4, 3, 5))
np.save(os.path.join(out, 'latent_chw.npy'), base[: 4 * 3 * 5].astype(np.float32).reshape(4, 3, 5))
np.save(os.path.join(out, 'latent_fortran.npy'), np.asfortranarray(base.astype(np.float32).reshape(2, 4, 3, 5)))
np.save(os.path.join(out, 'latent_i4.npy'), np.arange(4, dtype=np.int32))
print('wrote', sorted(f for f in os.listdir(out) if f.endswith('.npy')))
