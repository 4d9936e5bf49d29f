// nn.Module against PyTorch (scripts/goldens/nn_module.py): state_dict keys of a nested model, strict and
// non-strict loading, train/eval, zeroGrad, default inits after manualSeed, and layer forwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, tidy, zeros, ones, randn, manualSeed, liveTensors } from '../../src/tensor_library.js';
import {
  Module, StateDictError, Linear, Conv1d, Conv2d, ConvTranspose2d, GroupNorm, LayerNorm, SiLU, Dropout,
  Sequential, ModuleList,
} from '../../src/nn/index.js';
import { assertClose, fromGolden, golden } from '../helpers.js';

const G = golden<any>('nn_module.json');

class Block extends Module {
  norm: GroupNorm; act: SiLU; conv: Conv2d; step: Tensor;
  constructor(c: number) {
    super();
    this.norm = this.registerModule('norm', new GroupNorm({ numGroups: 2, numChannels: c }));
    this.act = this.registerModule('act', new SiLU());
    this.conv = this.registerModule('conv', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 3, padding: 1 }));
    this.step = this.registerBuffer('step', zeros([]));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => x.add(this.conv.forward(this.act.forward(this.norm.forward(x)))));
  }
}

/** The same structure as the script's Net: containers nested in a custom module, buffers, a bare parameter. */
class Net extends Module {
  stem: Conv2d; blocks: ModuleList; mlp: Sequential; ln: LayerNorm; up: ConvTranspose2d; head: Conv1d; empty: ModuleList;
  scale: Tensor; running: Tensor; cache: Tensor;
  constructor() {
    super();
    this.stem = this.registerModule('stem', new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 }));
    this.blocks = this.registerModule('blocks', new ModuleList([new Block(8), new Sequential(new Conv2d({ inChannels: 8, outChannels: 8, kernelSize: 1, bias: false }), new Block(8))]));
    this.mlp = this.registerModule('mlp', new Sequential(new Linear({ inFeatures: 8, outFeatures: 16 }), new SiLU(), new Dropout(0.1), new Linear({ inFeatures: 16, outFeatures: 4, bias: false })));
    this.ln = this.registerModule('ln', new LayerNorm({ normalizedShape: [4] }));
    this.up = this.registerModule('up', new ConvTranspose2d({ inChannels: 8, outChannels: 3, kernelSize: 4, stride: 2, padding: 1 }));
    this.head = this.registerModule('head', new Conv1d({ inChannels: 4, outChannels: 2, kernelSize: 1 }));
    this.empty = this.registerModule('empty', new ModuleList());
    this.scale = this.registerParameter('scale', ones([1]));
    this.running = this.registerBuffer('running', zeros([3]));
    this.cache = this.registerBuffer('cache', zeros([2]), false);
  }
  /** [N,3,H,W] → ([N,3,2H,2W] image, [N,2,4] head output): touches every parameter. */
  forward(x: Tensor): { img: Tensor; vec: Tensor } {
    return tidy(() => {
      let h = this.stem.forward(x);
      for (const b of this.blocks) h = (b as Block | Sequential).forward(h);
      const img = this.up.forward(h).mul(this.scale);
      const pooled = h.mean([2, 3]);                       // [N, 8]
      const v = this.ln.forward(this.mlp.forward(pooled)); // [N, 4]
      const vec = this.head.forward(v.unsqueeze(2).expand(-1, -1, 4)); // [N, 2, 4]
      return { img, vec };
    });
  }
}

const shapeOf = (sd: Map<string, Tensor>) => [...sd].map(([k, v]) => [k, v.shape]);

test('state_dict keys, order and shapes equal PyTorch\'s for a nested model; parameter names too', () => {
  const net = new Net();
  assert.deepEqual(shapeOf(net.stateDict()), G.structure);
  assert.deepEqual(net.namedParameters().map(([k]) => k), G.parameters);
  assert.ok(!net.stateDict().has('cache'), 'non-persistent buffer stays out of the state dict');
  assert.deepEqual(net.namedBuffers().map(([k]) => k), ['running', 'cache', 'blocks.0.step', 'blocks.1.1.step']);
  net.dispose();
});

test('strict loadStateDict names missing, unexpected and mis-shaped keys and copies nothing', () => {
  const src = new Net(), dst = new Net();
  const before = dst.stem.weight.clone();
  const sd = new Map(src.stateDict());
  sd.delete('blocks.1.1.conv.bias');
  const extra = zeros([5]), bad = zeros([4, 8]);
  sd.set('mlp.1.weight', extra);
  sd.set('mlp.3.weight', bad);
  assert.throws(() => dst.loadStateDict(sd), (e: unknown) => {
    assert.ok(e instanceof StateDictError);
    const m = (e as Error).message;
    assert.match(m, /missing keys: blocks\.1\.1\.conv\.bias/);
    assert.match(m, /unexpected keys: mlp\.1\.weight/);
    assert.match(m, /mlp\.3\.weight: expected \[4, 16\], got \[4, 8\]/);
    assert.deepEqual((e as StateDictError).report.missing, ['blocks.1.1.conv.bias']);
    return true;
  });
  assert.ok(dst.stem.weight.equal(before), 'a failed strict load leaves the module unchanged');

  // not strict: everything that fits is copied, the rest reported
  const rep = dst.loadStateDict(sd, { strict: false });
  assert.deepEqual(rep.missing, ['blocks.1.1.conv.bias']);
  assert.deepEqual(rep.unexpected, ['mlp.1.weight']);
  assert.deepEqual(rep.mismatched, ['mlp.3.weight: expected [4, 16], got [4, 8]']);
  assert.equal(rep.loaded.length, G.structure.length - 2);
  assert.ok(dst.stem.weight.equal(src.stem.weight), 'fitting keys are copied');
  assert.ok(!dst.blocks.at(1).stateDict().get('1.conv.bias')!.equal(src.stateDict().get('blocks.1.1.conv.bias')!), 'a missing key keeps its old value');
  assert.ok(!dst.stateDict().get('mlp.3.weight')!.equal(src.stateDict().get('mlp.3.weight')!), 'a mis-shaped key is not copied');
  // a load copies values: the source can be freed
  src.dispose();
  assert.equal(dst.stem.weight.isDisposed, false);
  assert.ok(dst.stem.weight.sum().item() !== 0);
  [before, extra, bad].forEach((t) => t.dispose());
  dst.dispose();
});

test('train()/eval() reach every submodule; Dropout is the identity in eval', () => tidy(() => {
  const net = new Net();
  assert.ok(net.namedModules().every(([, m]) => m.training));
  net.eval();
  assert.deepEqual(net.namedModules().map(([k]) => k), G.modules, 'module names equal torch\'s named_modules()');
  assert.ok(net.namedModules().every(([, m]) => !m.training), 'eval reaches nested containers');
  const x = randn([2, 3, 8, 8]);
  const a = net.forward(x).vec, b = net.forward(x).vec;
  assert.ok(a.equal(b), 'eval forward is deterministic (dropout off)');
  net.train();
  assert.ok(net.namedModules().every(([, m]) => m.training));
  const d = new Dropout(0.5);
  d.eval();
  const g = G.dropout_eval;
  assertClose(d.forward(fromGolden(g.x)), fromGolden(g.y), { atol: 0, rtol: 0 });
  d.train();
  const big = ones([1000]);
  const y = d.forward(big);
  const zerosCount = y.eq(0).sum().item();
  assert.ok(zerosCount > 400 && zerosCount < 600, `train-mode dropout zeroes about half (${zerosCount})`);
  assert.ok(y.eq(0).logicalNot().sum().item() === y.eq(2).sum().item(), 'kept elements are scaled by 1/(1−p)');
  net.dispose();
}));

test('backward fills every parameter\'s grad; zeroGrad clears them all', () => {
  const net = new Net();
  tidy(() => {
    const { img, vec } = net.forward(randn([2, 3, 8, 8]));
    img.square().mean().add(vec.square().mean()).backward();
  });
  const withGrad = tidy(() => net.namedParameters().filter(([, p]) => p.grad !== null).map(([k]) => k));
  assert.deepEqual(withGrad, G.parameters);
  net.zeroGrad();
  const n = liveTensors();
  assert.ok(net.parameters().every((p) => p.grad === null));
  assert.equal(liveTensors(), n);
  net.dispose();
});

test('default inits equal torch\'s after the same manual seed (Linear, Conv1d, Conv2d, ConvTranspose2d)', () => {
  manualSeed(0);
  const layers: [string, Module][] = [
    ['linear', new Linear({ inFeatures: 5, outFeatures: 3 })],
    ['linear_nobias', new Linear({ inFeatures: 4, outFeatures: 2, bias: false })],
    ['conv1d', new Conv1d({ inChannels: 3, outChannels: 4, kernelSize: 3 })],
    ['conv2d', new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3 })],
    ['conv2d_groups', new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: [3, 2], groups: 2 })],
    ['conv_transpose2d', new ConvTranspose2d({ inChannels: 4, outChannels: 2, kernelSize: 3, stride: 2 })],
  ];
  assert.deepEqual(layers.map(([n]) => n), G.inits.map((i: any) => i.name));
  layers.forEach(([name, m], i) => {
    const expected = G.inits[i].state;
    const sd = m.stateDict();
    assert.deepEqual([...sd.keys()], Object.keys(expected), `${name} keys`);
    for (const [k, v] of sd) {
      assert.deepEqual(v.shape, expected[k].shape, `${name}.${k} shape`);
      assertClose(v, expected[k].data, { atol: 0, rtol: 1e-7, msg: `${name}.${k}` });
    }
    m.dispose();
  });
});

const build: Record<string, (c: any) => Module & { forward(x: Tensor): Tensor }> = {
  linear: (c) => new Linear(c), conv1d: (c) => new Conv1d(c), conv2d: (c) => new Conv2d(c), conv2d_dilated: (c) => new Conv2d(c),
  conv_transpose2d: (c) => new ConvTranspose2d(c), group_norm: (c) => new GroupNorm(c), group_norm_eps: (c) => new GroupNorm(c),
  layer_norm: (c) => new LayerNorm(c), layer_norm_noaffine: (c) => new LayerNorm(c),
};

for (const fc of G.forwards) {
  test(`${fc.name} forward equals torch for the same weights (${JSON.stringify(fc.config)})`, () => {
    const m = build[fc.name](fc.config);
    tidy(() => {
      const sd = new Map(Object.entries<any>(fc.state).map(([k, v]) => [k, fromGolden(v)]));
      const rep = m.loadStateDict(sd);
      assert.equal(rep.loaded.length, Object.keys(fc.state).length);
      const y = m.forward(fromGolden(fc.x));
      assert.deepEqual(y.shape, fc.y.shape);
      assertClose(y, fc.y.data, { atol: 1e-5, rtol: 1e-5, msg: fc.name });
    });
    m.dispose();
  });
}

test('module forward and dispose leave no live tensors behind', () => {
  const n0 = liveTensors();
  const net = new Net();
  tidy(() => { net.forward(randn([1, 3, 4, 4])); });
  net.dispose();
  // every parameter and buffer handle is released
  assert.equal(liveTensors(), n0);
});
