// The addon loads on first use: importing the package, its schemas, presets and option names loads no libtorch
// (so config, serve and CLI code can share one list of names with the engine), and the first op loads it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

const probe = (body: string) => spawnSync(process.execPath, ['--input-type=module', '-e', body], { cwd: join(ROOT, 'dist'), encoding: 'utf8', timeout: 60_000 });

test('importing every layer loads no native code; the first tensor op does', () => {
  const r = probe(`
    const mods = ['src/index.js', 'src/tensor_library.js', 'src/train/config/index.js', 'src/serve/options.js', 'src/flow/sampling_options.js',
      'src/models/preset_names.js', 'src/pipeline/index.js', 'src/eval/index.js', 'src/cli/options.js'];
    for (const m of mods) await import('./' + m);
    const t = await import('./src/tensor/index.js');
    const before = t.nativeLoaded();
    const sum = t.ones([2, 2]).sum().item();
    console.log(JSON.stringify({ before, after: t.nativeLoaded(), sum }));
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { before: false, after: true, sum: 4 });
});

test('FMBOOST_THREADS is applied when the addon loads', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', "const t = await import('./src/tensor/index.js'); console.log(t.getNumThreads());"],
    { cwd: join(ROOT, 'dist'), encoding: 'utf8', timeout: 60_000, env: { ...process.env, FMBOOST_THREADS: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '1');
});
