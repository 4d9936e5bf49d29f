// Eval rows in words for figures (src/eval/rows.ts rowTitle).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowTitle } from '../../src/eval/rows.js';

test('rows in words for figures: solver steps (grid points − 1), baselines by name', () => {
  assert.equal(rowTitle('euler:3'), 'fmboost, euler 2 steps');
  assert.equal(rowTitle('euler:2'), 'fmboost, euler 1 step');
  assert.equal(rowTitle('rk4:11:lsu:n400'), 'fmboost, rk4 10 steps (LSU, noise 400)');
  assert.equal(rowTitle('dopri5'), 'fmboost, dopri5 adaptive');
  assert.equal(rowTitle('esrgan-medium'), 'ESRGAN (medium)');
  assert.equal(rowTitle('psu-rt'), 'PSU round trip (no flow)');
  assert.equal(rowTitle('ground truth'), 'ground truth');
});
