// `fmboost models`: the default model and the bundles of FMBOOST_MODELS folders, described from their headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

test('models: default first, then the bundles of FMBOOST_MODELS (other files ignored), with scales, sampler and size', () => {
  const { dir, cleanup } = tmpDir('fmboost-models-');
  try {
    const def = writeTinyBundle(join(dir, 'default.safetensors'), { steps: 3 }, 1, 'tiny-default');
    mkdirSync(join(dir, 'more'));
    writeTinyBundle(join(dir, 'more', 'b.safetensors'), { steps: 5, solver: 'rk4' }, 2, 'tiny-b');
    writeFileSync(join(dir, 'more', 'notes.safetensors'), 'not a bundle');
    const env = { ...process.env, FMBOOST_DEFAULT_MODEL: def, FMBOOST_MODELS: join(dir, 'more') };
    const j = spawnSync(process.execPath, [CLI, 'models', '--json'], { encoding: 'utf8', env });
    assert.equal(j.status, 0, j.stderr);
    const ms = JSON.parse(j.stdout);
    assert.deepEqual(ms.map((m: any) => [m.name, m.isDefault, m.factor, m.scales, m.solver, m.steps]), [
      ['tiny-default', true, 2, [2, 3, 4, 8], 'euler', 2],
      ['tiny-b', false, 2, [2, 3, 4, 8], 'rk4', 4],
    ]);
    assert.ok(ms[0].parameters.unet > 0 && ms[0].parameters.vae > 0 && ms[0].latent.factor === 4);
    const t = spawnSync(process.execPath, [CLI, 'models'], { encoding: 'utf8', env });
    assert.match(t.stdout, /^tiny-default \(default\)\n  path .*default\.safetensors/);
    assert.match(t.stdout, /sampler  4 rk4 steps/);
  } finally {
    cleanup();
  }
});
