// Generator.shardBatch: a rank's batch-leading draw is its rows (rank, rank + W, …) of the draw one
// process makes for the whole world's batch, for every random creation op the trainer uses.
import test from 'node:test';
import assert from 'node:assert/strict';
import { bernoulli, full, Generator, normal, rand, randn, tidy } from '../../src/tensor_library.js';

const rowsOf = (all: Float32Array, rowLen: number, rank: number, world: number): number[] => {
  const out: number[] = [];
  for (let r = rank; r * rowLen < all.length; r += world) out.push(...all.subarray(r * rowLen, (r + 1) * rowLen));
  return out;
};

test('shardBatch: randn, rand, normal and bernoulli give this rank\'s rows of the world\'s draw, and the streams stay in step', () => {
  const W = 3, b = 2, shape = [b, 2, 3];
  tidy(() => {
    const whole = new Generator(11);
    const ranks = Array.from({ length: W }, (_, r) => new Generator(11).shardBatch(r, W));
    const draws: [string, (g: Generator, n: number) => Float32Array][] = [
      ['randn', (g, n) => randn([n, 2, 3], { generator: g }).toFloat32Array()],
      ['rand', (g, n) => rand([n, 2, 3], { generator: g }).toFloat32Array()],
      ['normal', (g, n) => normal(0.5, 2, [n, 2, 3], { generator: g }).toFloat32Array()],
      ['bernoulli', (g, n) => bernoulli(full([n, 2, 3], 0.4), g).toFloat32Array()],
    ];
    for (const [name, draw] of draws) {
      const all = draw(whole, b * W);
      for (let r = 0; r < W; r++) {
        const mine = draw(ranks[r], b);
        assert.equal(mine.length, b * 6, name);
        assert.deepEqual(Array.from(mine), rowsOf(all, 6, r, W), `${name}: rank ${r}`);
      }
    }
    assert.equal(shape.length, 3);
  });
});

test('shardBatch(0, 1) is a plain generator; bad ranks are refused', () => {
  const g = new Generator(3).shardBatch(0, 1);
  assert.equal(g.batchShard, undefined);
  assert.throws(() => new Generator(3).shardBatch(2, 2), /rank 2 of world size 2/);
  assert.throws(() => new Generator(3).shardBatch(0, 0), RangeError);
});
