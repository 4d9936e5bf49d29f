// Seeded random streams must equal torch.Generator's for the same seed and call order
// (goldens: scripts/goldens/tensor_random.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, manualSeed, randn, rand, randint, randperm, normal, F, tidy } from '../../src/tensor_library.js';
import { golden } from '../helpers.js';
import { assertExact, load, type GT } from './util.js';

const G = golden<Record<string, any>>('tensor_random.json');

test('one Generator replays torch.Generator(42) across randn/rand/randint/normal_/randperm', () => tidy(() => {
  const g = new Generator(42);
  const seq = G.seq42 as GT[];
  const ours = [
    randn([5], { generator: g }),
    randn([4, 6], { generator: g }),
    rand([3], { generator: g }),
    rand([2, 10], { generator: g }),
    randint(0, 10, [7], { generator: g }),
    randint(-5, 5, [2, 9], { generator: g }),
    normal(2, 3, [4], { generator: g }),
    normal(-1, 0.5, [20], { generator: g }),
    randn([3, 3], { generator: g, dtype: 'float64' }),
    randperm(8, { generator: g }),
  ];
  assert.equal(ours.length, seq.length);
  ours.forEach((t, i) => assertExact(t, seq[i], `draw ${i}`));
}));

test('manualSeed on a Generator restarts its stream', () => tidy(() => {
  const g = new Generator(1);
  randn([10], { generator: g });
  g.manualSeed(7);
  assertExact(randn([2, 3], { generator: g }), G.seed7_randn);
  const fresh = randn([2, 3], { generator: new Generator(7) });
  assertExact(fresh, G.seed7_randn, 'new Generator(7)');
}));

test('getState/setState rewinds a Generator', () => tidy(() => {
  const g = new Generator(3);
  const state = g.getState();
  const a = randn([17], { generator: g });
  g.setState(state);
  const b = randn([17], { generator: g });
  assert.ok(a.equal(b));
}));

test('the default generator (manualSeed) equals torch.manual_seed', () => tidy(() => {
  manualSeed(123);
  assertExact(randn([6]), G.default123_randn);
}));

test('dropout in training: default generator matches torch, Generator gives reproducible masks', () => tidy(() => {
  const d = G.dropout_default5;
  const x = load(d.x);
  manualSeed(5);
  assertExact(F.dropout(x, d.p, true), d.y, 'default generator');
  const e = G.dropout_gen11;
  const y1 = F.dropout(x, e.p, true, new Generator(11));
  assertExact(y1, e.y, 'Generator(11)');
  const y2 = F.dropout(x, e.p, true, new Generator(11));
  assert.ok(y1.equal(y2), 'same seed, same mask');
}));
