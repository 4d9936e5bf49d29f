// One check per sampling option, shared by the CLI, serve, the library, eval and the config.
import test from 'node:test';
import assert from 'node:assert/strict';
import { samplingOptionProblem, MAX_SOLVER_STEPS, MAX_GRID_POINTS } from '../../src/flow/sampling_options.js';
import { parseJobOptions } from '../../src/serve/options.js';
import { parseRows } from '../../src/eval/rows.js';
import { resolveFlowConfig } from '../../src/pipeline/bundle.js';

test('samplingOptionProblem: valid values pass, each bad one is named with its range', () => {
  for (const [o, v] of [['steps', 1], ['steps', MAX_SOLVER_STEPS], ['gridPoints', 2], ['gridPoints', MAX_GRID_POINTS], ['solver', 'euler'], ['noiseStep', -1], ['noiseStep', 999], ['seed', 0]] as const) {
    assert.equal(samplingOptionProblem(o, v), null, `${o}=${v}`);
  }
  assert.match(samplingOptionProblem('steps', 0)!, /from 1 to 1000 \(solver steps\), got 0/);
  assert.match(samplingOptionProblem('steps', 1.5)!, /got 1\.5/);
  assert.match(samplingOptionProblem('gridPoints', 1)!, /from 2 to 1001 \(grid points\)/);
  assert.match(samplingOptionProblem('solver', 'eulr')!, /one of euler, midpoint/);
  assert.match(samplingOptionProblem('noiseStep', 1000)!, /\[-1, 999\], got 1000/);
  assert.match(samplingOptionProblem('seed', -1)!, /2\^53/);
});

test('the front ends use the same ranges', () => {
  assert.throws(() => parseJobOptions([['noise_step', '1000']]), /noise_step/);
  assert.deepEqual(parseJobOptions([['noise_step', '999']]), { noiseStep: 999 });
  assert.throws(() => parseRows('euler:11:n1000'), /noise step must be an integer in \[-1, 999\]/);
  assert.throws(() => parseRows('euler:1'), /grid points must be an integer from 2/);
  assert.throws(() => resolveFlowConfig({ noiseStep: 1000 }), /flow\.noiseStep must be an integer in \[-1, 999\]/);
  assert.throws(() => resolveFlowConfig({ steps: 1 }), /flow\.steps must be an integer from 2 to 1001/);
});
