"""Goldens for seeded random streams: torch.Generator draws with fixed seeds, in a fixed order.

tests/tensor/random.test.ts replays the same calls on fmboost's Generator and must get the same values.
Run: /usr/bin/python3 scripts/goldens/tensor_random.py
"""
import torch
import torch.nn.functional as F

from tensor_common import dump, enc

out = {}

# One generator, several calls in sequence: the stream position must advance identically.
g = torch.Generator().manual_seed(42)
seq = []
seq.append(enc(torch.randn(5, generator=g)))                        # < 16 elements: scalar path
seq.append(enc(torch.randn(4, 6, generator=g)))                     # >= 16 elements: vectorised path
seq.append(enc(torch.rand(3, generator=g)))
seq.append(enc(torch.rand(2, 10, generator=g)))
seq.append(enc(torch.randint(0, 10, (7,), generator=g)))
seq.append(enc(torch.randint(-5, 5, (2, 9), generator=g)))
seq.append(enc(torch.empty(4).normal_(2.0, 3.0, generator=g)))
seq.append(enc(torch.empty(20).normal_(-1.0, 0.5, generator=g)))
seq.append(enc(torch.randn(3, 3, generator=g, dtype=torch.float64)))
seq.append(enc(torch.randperm(8, generator=g)))
out['seq42'] = seq

# Re-seeding restarts the stream.
g2 = torch.Generator().manual_seed(7)
out['seed7_randn'] = enc(torch.randn(2, 3, generator=g2))

# The default generator (torch.manual_seed) drives ops without an explicit generator, e.g. dropout.
torch.manual_seed(123)
out['default123_randn'] = enc(torch.randn(6))
x = torch.arange(1, 41, dtype=torch.float32).reshape(4, 10)
torch.manual_seed(5)
out['dropout_default5'] = {'x': enc(x), 'p': 0.3, 'y': enc(F.dropout(x, 0.3, True))}

# Dropout with a seeded generator: fmboost draws keep ~ Bernoulli(1 - p) from the generator, y = x * keep / (1 - p).
g3 = torch.Generator().manual_seed(11)
keep = torch.bernoulli(torch.full_like(x, 1 - 0.25), generator=g3)
out['dropout_gen11'] = {'x': enc(x), 'p': 0.25, 'y': enc(x * keep / (1 - 0.25))}

dump('tensor_random.json', out)
