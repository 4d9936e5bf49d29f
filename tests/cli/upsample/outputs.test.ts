// Output planning of `fmboost upsample`: -o as file / folder / stdout, the --name template, collisions and
// existing outputs refused before any work; input expansion with --recursive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyExisting, checkTemplate, fillTemplate, planOutputs } from '../../../src/cli/upsample/outputs.js';
import { expandInputs, type InputItem } from '../../../src/cli/upsample/inputs.js';
import { tmpDir } from '../../pipeline/tiny.js';

const RUN = { scale: 4, model: 'fmboost default', steps: 1, solver: 'euler', seed: 0 };
const img = (path: string, dir = ''): InputItem => ({ path, dir, kind: 'image' });

test('-o: a file for one input with an image extension, stdout for -, a folder otherwise', () => {
  const { dir, cleanup } = tmpDir('fmboost-outputs-');
  try {
    const f = planOutputs([img('a.png')], RUN, { out: join(dir, 'result.webp') });
    assert.deepEqual([f[0].path, f[0].format], [join(dir, 'result.webp'), 'webp']);
    assert.throws(() => planOutputs([img('a.png'), img('b.png')], RUN, { out: join(dir, 'result.png') }), /names one file, but there are 2 inputs/);
    assert.throws(() => planOutputs([img('a.png')], RUN, { out: join(dir, 'r.png'), format: 'jpg' }), /does not match the extension/);
    assert.equal(planOutputs([img('-')], RUN, { out: '-' })[0].path, '-');
    assert.throws(() => planOutputs([img('a.png'), img('b.png')], RUN, { out: '-' }), /stdout\) takes one input, got 2/);
    // an existing folder named like a file is a folder
    mkdirSync(join(dir, 'looks.png'));
    assert.equal(planOutputs([img('x/a.png')], RUN, { out: join(dir, 'looks.png') })[0].path, join(dir, 'looks.png', 'a_x4.png'));
    const d = planOutputs([img('x/a.jpg', 'sub')], RUN, { out: join(dir, 'o'), format: 'jpg', compare: true });
    assert.deepEqual([d[0].path, d[0].comparePath, d[0].format], [join(dir, 'o', 'sub', 'a_x4.jpg'), join(dir, 'o', 'sub', 'a_x4_compare.jpg'), 'jpeg']);
  } finally {
    cleanup();
  }
});

test('--name template: fields filled, unknown fields and folders refused with a suggestion', () => {
  assert.equal(fillTemplate('{stem}.{srcext}-{model}-{steps}{solver}-s{seed}-{index}x{scale}.{ext}', img('d/photo.WEBP'), 2, 'png', RUN), 'photo.webp-fmboost_default-1euler-s0-3x4.png');
  assert.equal(fillTemplate('{stem}_x{scale}.{ext}', img('-'), 0, 'png', RUN), 'stdin_x4.png');
  assert.throws(() => checkTemplate('{stme}.png'), /unknown field \{stme\} \(did you mean \{stem\}\?\)/);
  assert.throws(() => checkTemplate('../{stem}.png'), /without folders or '\.\.'/);
  assert.throws(() => checkTemplate(''), /must not be empty/);
});

test('collisions are refused before any work, naming both inputs and the fix; {srcext} resolves them', () => {
  const items = [img('dA/photo.png'), img('dA/photo.webp'), img('dB/photo.png')];
  assert.throws(() => planOutputs(items, RUN, { out: '/tmp/never' }), (e: Error) => {
    assert.match(e.message, /2 output name collisions \(nothing was written\)/);
    assert.match(e.message, /dA\/photo\.png and dA\/photo\.webp → \/tmp\/never\/photo_x4\.png/);
    assert.match(e.message, /\{srcext\}/);
    return true;
  });
  // srcext tells png from webp; the two png still collide, {index} separates everything
  assert.throws(() => planOutputs(items, RUN, { out: '/tmp/never', name: '{stem}_{srcext}.{ext}' }), /1 output name collision/);
  assert.equal(new Set(planOutputs(items, RUN, { out: '/tmp/never', name: '{index}_{stem}.{ext}' }).map((p) => p.path)).size, 3);
});

test('existing outputs: refused by default (naming the flags), --overwrite runs all, --skip-existing the rest', () => {
  const { dir, cleanup } = tmpDir('fmboost-outputs-');
  try {
    const plan = planOutputs([img('a.png'), img('b.png')], RUN, { out: dir });
    writeFileSync(plan[0].path, 'old');
    assert.throws(() => applyExisting(plan, 'refuse'), /1 output already exists \(nothing was written\): .*a_x4\.png; add --overwrite .* or --skip-existing/);
    assert.equal(applyExisting(plan, 'overwrite').run.length, 2);
    const s = applyExisting(plan, 'skip');
    assert.deepEqual([s.run.map((p) => p.item.path), s.skipped.map((p) => p.item.path)], [['b.png'], ['a.png']]);
  } finally {
    cleanup();
  }
});

test('inputs: folders sorted, sub-folders only with --recursive (their path kept), stdin and missing paths kept', () => {
  const { dir, cleanup } = tmpDir('fmboost-inputs-');
  try {
    mkdirSync(join(dir, 'in', 'sub', 'deeper'), { recursive: true });
    for (const p of ['in/b.png', 'in/a.jpg', 'in/notes.txt', 'in/z.npy', 'in/sub/c.webp', 'in/sub/deeper/d.png']) writeFileSync(join(dir, p), 'x');
    const flat = expandInputs([join(dir, 'in'), '-', join(dir, 'missing.png')]);
    assert.deepEqual(flat.map((i) => [i.path.replace(dir, ''), i.dir, i.kind]), [
      ['/in/a.jpg', '', 'image'], ['/in/b.png', '', 'image'], ['/in/z.npy', '', 'latent'], ['-', '', 'image'], ['/missing.png', '', 'image'],
    ]);
    const deep = expandInputs([join(dir, 'in')], { recursive: true });
    assert.deepEqual(deep.map((i) => i.dir), ['', '', 'sub', join('sub', 'deeper'), '']);
  } finally {
    cleanup();
  }
});
