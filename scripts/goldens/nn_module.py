# Goldens for nn.Module behaviour: state_dict keys/shapes of a nested model, default inits after
# manual_seed, and layer forwards for given weights.
# Run: /usr/bin/python3 scripts/goldens/nn_module.py  ->  tests/goldens/nn_module.json
import json, os
import torch
from torch import nn


def enc(t):
    return {'shape': list(t.shape), 'data': t.detach().flatten().tolist()}


# ---------------------------------------------------------------- nested structure
class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.GroupNorm(2, c)
        self.act = nn.SiLU()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.register_buffer('step', torch.zeros(()))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.blocks = nn.ModuleList([Block(8), nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), Block(8))])
        self.mlp = nn.Sequential(nn.Linear(8, 16), nn.SiLU(), nn.Dropout(0.1), nn.Linear(16, 4, bias=False))
        self.ln = nn.LayerNorm([4])
        self.up = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)
        self.head = nn.Conv1d(4, 2, 1)
        self.empty = nn.ModuleList()
        self.scale = nn.Parameter(torch.ones(1))
        self.register_buffer('running', torch.zeros(3))
        self.register_buffer('cache', torch.zeros(2), persistent=False)


net = Net()
structure = [[k, list(v.shape)] for k, v in net.state_dict().items()]
param_names = [k for k, _ in net.named_parameters()]
module_names = [k for k, _ in net.named_modules()]

# ---------------------------------------------------------------- default inits
torch.manual_seed(0)
init_layers = [
    ('linear', nn.Linear(5, 3)),
    ('linear_nobias', nn.Linear(4, 2, bias=False)),
    ('conv1d', nn.Conv1d(3, 4, 3)),
    ('conv2d', nn.Conv2d(3, 4, 3)),
    ('conv2d_groups', nn.Conv2d(4, 6, (3, 2), groups=2)),
    ('conv_transpose2d', nn.ConvTranspose2d(4, 2, 3, stride=2)),
]
inits = [{'name': n, 'state': {k: enc(v) for k, v in m.state_dict().items()}} for n, m in init_layers]

# ---------------------------------------------------------------- forwards
torch.manual_seed(1)


def randomize(m):
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) * 0.5 + (1.0 if p.dim() == 1 and isinstance(m, (nn.GroupNorm, nn.LayerNorm)) else 0.0))
    return m


forward_cases = [
    ('linear', dict(inFeatures=6, outFeatures=4), nn.Linear(6, 4), [2, 3, 6]),
    ('conv1d', dict(inChannels=3, outChannels=4, kernelSize=3, padding=1, stride=2), nn.Conv1d(3, 4, 3, padding=1, stride=2), [2, 3, 10]),
    ('conv2d', dict(inChannels=4, outChannels=6, kernelSize=3, stride=2, padding=1, groups=2), nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), [2, 4, 9, 9]),
    ('conv2d_dilated', dict(inChannels=3, outChannels=2, kernelSize=[3, 2], padding=[2, 1], dilation=2, bias=False), nn.Conv2d(3, 2, (3, 2), padding=(2, 1), dilation=2, bias=False), [1, 3, 7, 8]),
    ('conv_transpose2d', dict(inChannels=4, outChannels=2, kernelSize=3, stride=2, padding=1, outputPadding=1), nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), [2, 4, 5, 5]),
    ('group_norm', dict(numGroups=3, numChannels=6), nn.GroupNorm(3, 6), [2, 6, 4, 4]),
    ('group_norm_eps', dict(numGroups=2, numChannels=4, eps=1e-2, affine=False), nn.GroupNorm(2, 4, eps=1e-2, affine=False), [3, 4, 5]),
    ('layer_norm', dict(normalizedShape=[4, 5]), nn.LayerNorm([4, 5]), [2, 3, 4, 5]),
    ('layer_norm_noaffine', dict(normalizedShape=5, elementwiseAffine=False, eps=1e-3), nn.LayerNorm(5, elementwise_affine=False, eps=1e-3), [3, 5]),
]
forwards = []
for name, cfg, m, shape in forward_cases:
    randomize(m)
    x = torch.randn(*shape) * 2 + 0.3
    forwards.append({'name': name, 'config': cfg, 'state': {k: enc(v) for k, v in m.state_dict().items()},
                     'x': enc(x), 'y': enc(m(x))})
drop = nn.Dropout(0.5).eval()
x = torch.randn(3, 4)
dropout_eval = {'x': enc(x), 'y': enc(drop(x))}

golden = {'torch': torch.__version__, 'structure': structure, 'parameters': param_names, 'modules': module_names, 'inits': inits,
          'forwards': forwards, 'dropout_eval': dropout_eval}
out = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'goldens', 'nn_module.json')
with open(out, 'w') as f:
    json.dump(golden, f)
print('wrote', os.path.normpath(out))
