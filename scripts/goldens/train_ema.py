# Golden for src/train/ema.ts: the reference EMA rule (CompVis/fm-boosting fmboost/ema.py, used with
# power 3/4, inv_gamma 1, min_value 0) evaluated with torch tensors exactly as that file does: an int64
# step buffer, the decay computed from float32 tensor arithmetic after the increment, an `initted` copy
# before the first lerp, and lerp_ of float32 parameters. Online weights are set to known values per call.
import json, math, os, torch

torch.manual_seed(0)
online = torch.nn.Linear(3, 2)
ema = torch.nn.Linear(3, 2)
beta, after, every, power = 0.999, 5, 2, 0.75
step = torch.tensor(0)
initted = False

def online_values(s):
    w = torch.tensor([[math.sin(s + i + 3 * j) for i in range(3)] for j in range(2)], dtype=torch.float32)
    b = torch.tensor([math.cos(s + j) for j in range(2)], dtype=torch.float32)
    return w, b

def decay():
    epoch = (step - after - 1).clamp(min=0.)
    value = 1 - (1 + epoch / 1.0) ** -power
    if epoch.item() <= 0:
        return 0.
    return value.clamp(min=0.0, max=beta).item()

records = []
with torch.no_grad():
    for s in range(24):
        w, b = online_values(s)
        online.weight.copy_(w); online.bias.copy_(b)
        cur = step.item()
        step += 1
        action = 'skip'
        if cur % every == 0:
            if cur <= after:
                ema.weight.copy_(online.weight); ema.bias.copy_(online.bias); action = 'copy'
            else:
                if not initted:
                    ema.weight.copy_(online.weight); ema.bias.copy_(online.bias); initted = True
                d = decay()
                ema.weight.lerp_(online.weight, 1. - d); ema.bias.lerp_(online.bias, 1. - d); action = 'lerp'
        records.append({'action': action, 'weight': ema.weight.flatten().tolist(), 'bias': ema.bias.tolist(),
                        'online_weight': w.flatten().tolist(), 'online_bias': b.tolist()})

out = {'beta': beta, 'update_after_step': after, 'update_every': every, 'power': power, 'steps': records}
path = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'goldens', 'train_ema.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', path)
