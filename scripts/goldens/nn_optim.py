# Golden trajectories of torch.optim.Adam / AdamW (single-tensor path) and clip_grad_norm_ results.
# Run: /usr/bin/python3 scripts/goldens/nn_optim.py  ->  tests/goldens/nn_optim.json
import json, os, math
import torch

torch.manual_seed(0)
W0 = torch.randn(3, 4)
B0 = torch.randn(4) * 0.5
X = torch.randn(5, 3)
Y = torch.rand(5, 4) * 2 - 1
STEPS = 20


def loss_fn(w, b):
    # smooth, non-quadratic, both parameters matter
    return (torch.tanh(X @ w + b) - Y).pow(2).mean() + 0.01 * w.pow(4).sum()


# name -> (class, how params are grouped, kwargs, sign of the objective)
CASES = {
    'adam': (torch.optim.Adam, 'flat', dict(lr=0.05), 1),
    'adam_wd': (torch.optim.Adam, 'flat', dict(lr=0.05, weight_decay=0.1), 1),
    'adam_amsgrad': (torch.optim.Adam, 'flat', dict(lr=0.05, weight_decay=0.05, amsgrad=True), 1),
    'adam_maximize': (torch.optim.Adam, 'flat', dict(lr=0.05, maximize=True), -1),
    'adamw': (torch.optim.AdamW, 'flat', dict(lr=0.05, weight_decay=0.1), 1),
    'adamw_default_wd': (torch.optim.AdamW, 'flat', dict(lr=0.03), 1),
    'adamw_amsgrad_groups': (torch.optim.AdamW, 'groups',
                             dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.2, amsgrad=True), 1),
}


def run(cls, grouping, kw, sign):
    w = W0.clone().requires_grad_(True)
    b = B0.clone().requires_grad_(True)
    if grouping == 'flat':
        opt = cls([w, b], foreach=False, **kw)
    else:
        opt = cls([{'params': [w]}, {'params': [b], 'lr': 0.02, 'weight_decay': 0.0}], foreach=False, **kw)
    traj = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = sign * loss_fn(w, b)
        loss.backward()
        opt.step()
        traj.append({'loss': loss.item(), 'w': w.detach().flatten().tolist(), 'b': b.detach().flatten().tolist()})
    sd = opt.state_dict()
    state = {str(k): {'step': float(v['step']), **{n: t.flatten().tolist() for n, t in v.items() if n != 'step'}}
             for k, v in sd['state'].items()}
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()
               if k in ('lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize', 'params')} for g in sd['param_groups']]
    return {'trajectory': traj, 'state': state, 'param_groups': groups}


def clip_cases():
    torch.manual_seed(1)
    g = [torch.randn(3, 4) * 3, torch.randn(5), torch.randn(2, 1, 3) * 0.1]
    out = []
    for max_norm, norm_type in [(1.0, 2.0), (100.0, 2.0), (0.5, math.inf), (2.0, 1.0), (0.3, 3.0)]:
        ps = [torch.zeros_like(t, requires_grad=True) for t in g]
        for p, t in zip(ps, g):
            p.grad = t.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
        out.append({'max_norm': max_norm, 'norm_type': 'inf' if norm_type == math.inf else norm_type,
                    'total': total.item(), 'clipped': [p.grad.flatten().tolist() for p in ps]})
    return {'grads': [{'shape': list(t.shape), 'data': t.flatten().tolist()} for t in g], 'cases': out}


golden = {
    'torch': torch.__version__,
    'steps': STEPS,
    'w0': {'shape': list(W0.shape), 'data': W0.flatten().tolist()},
    'b0': {'shape': list(B0.shape), 'data': B0.flatten().tolist()},
    'x': {'shape': list(X.shape), 'data': X.flatten().tolist()},
    'y': {'shape': list(Y.shape), 'data': Y.flatten().tolist()},
    'cases': {name: {'kwargs': {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
                     'optimizer': cls.__name__, 'grouping': grouping, 'sign': sign, **run(cls, grouping, kw, sign)}
              for name, (cls, grouping, kw, sign) in CASES.items()},
    'clip': clip_cases(),
}
out = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'goldens', 'nn_optim.json')
with open(out, 'w') as f:
    json.dump(golden, f)
print('wrote', os.path.normpath(out))
