# Golden for src/train/lr.ts: the learning rate torch's LambdaLR actually applies at each optimizer update,
# with the reference's multipliers (fmboost/lr_schedulers.py = HF transformers' constant/cosine warmup).
# Records param_groups[0]['lr'] as seen by optimizer.step() number k (k = 0, 1, ...).
import json, math, os, torch
from torch.optim.lr_scheduler import LambdaLR

def constant(s, w):
    return s / max(1.0, w) if s < w else 1.0

def cosine(s, w, total, cycles=0.5):
    if s < w:
        return s / max(1, w)
    p = (s - w) / max(1, total - w)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * cycles * 2.0 * p)))

def run(fn, base, n):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=base)
    sch = LambdaLR(opt, fn)
    used = []
    for _ in range(n):
        used.append(opt.param_groups[0]['lr'])
        p.grad = torch.ones(1)
        opt.step()
        sch.step()
    return used

out = {
    'constant_warmup': {'base': 3e-5, 'warmup': 10, 'lr': run(lambda s: constant(s, 10), 3e-5, 25)},
    'cosine_warmup': {'base': 1e-3, 'warmup': 5, 'total': 30, 'lr': run(lambda s: cosine(s, 5, 30), 1e-3, 35)},
    'cosine_warmup_2cycles': {'base': 1e-3, 'warmup': 4, 'total': 20, 'cycles': 2.0, 'lr': run(lambda s: cosine(s, 4, 20, 2.0), 1e-3, 22)},
}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'goldens', 'lr_schedules.json')
with open(path, 'w') as f:
    json.dump(out, f, indent=1)
print('wrote', path)
