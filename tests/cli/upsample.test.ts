// `fmboost upsample` as a subprocess: outputs with metadata, --compare, folders, bad inputs skipped with exit 2,
// latents, cascades, the error when the default model is missing, absurd values refused up front.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { F, manualSeed, rand, randn, tidy } from '../../src/tensor/index.js';
import { writeImage, readImage, readImageText, probeImage } from '../../src/data/index.js';
import { Upsampler } from '../../src/index.js';
import { npyBytes } from '../../src/pipeline/index.js';
import { ROOT, maxAbsDiff } from '../helpers.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
let dir: string, cleanup: () => void, model: string;

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, 'upsample', ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, ...env } });

before(async () => {
  ({ dir, cleanup } = tmpDir('fmboost-cli-'));
  model = writeTinyBundle(join(dir, 'tiny.safetensors'), { steps: 3 }, 1, 'tiny-cli');
  manualSeed(2);
  const a = tidy(() => F.interpolate(rand([1, 3, 4, 4]), { size: [16, 20], mode: 'bilinear', alignCorners: false }).mul(2).sub(1).squeeze(0));
  await writeImage(join(dir, 'a.png'), a);
  mkdirSync(join(dir, 'folder'));
  await writeImage(join(dir, 'folder', 'b.jpg'), a);
  writeFileSync(join(dir, 'folder', 'notes.txt'), 'ignored');
  writeFileSync(join(dir, 'corrupt.png'), 'this is not a png');
  a.dispose();
});
after(() => cleanup());

test('upsample: files and folders, PNG metadata, --compare; bad inputs reported, others done, exit 2', async () => {
  const p = run(['a.png', 'folder', 'missing.png', 'corrupt.png', '--model', model, '--out', 'out', '--seed', '5', '--steps', '3', '--compare']);
  assert.equal(p.status, 2, p.stderr);
  assert.match(p.stderr, /^fmboost: missing\.png: .*ENOENT/m);
  assert.match(p.stderr, /^fmboost: corrupt\.png: .*unsupported image format/m);
  assert.match(p.stderr, /2 of 4 input\(s\) failed/);
  const out = join(dir, 'out', 'a_x2.png');
  assert.ok(existsSync(out));
  assert.ok(existsSync(join(dir, 'out', 'b_x2.png')), 'the folder\'s image was processed');
  const meta = await readImageText(out);
  assert.equal(meta['fmboost:model'], 'tiny-cli');
  assert.equal(meta['fmboost:steps'], '3', '--steps counts solver steps, and the metadata says the same');
  assert.equal(meta['fmboost:solver'], 'euler');
  assert.equal(meta['fmboost:seed'], '5');
  assert.equal(meta['fmboost:scale'], '2');
  assert.equal(meta['fmboost:input'], 'a.png');
  assert.deepEqual(await probeImage(out).then((s) => [s.width, s.height]), [40, 32]);
  // Side by side: bicubic | 4 px gap | ours, under an 18 px strip of column titles.
  const cmp = await probeImage(join(dir, 'out', 'a_x2_compare.png'));
  assert.deepEqual([cmp.width, cmp.height], [84, 18 + 32]);
  // The file holds what the library computes (up to 8-bit rounding: 1/127.5); 3 steps = 3 field evaluations.
  const up = await Upsampler.load({ model });
  const input = await readImage(join(dir, 'a.png'));
  const r = await up.upsampleImage(input, { seed: 5, steps: 3 });
  assert.equal(r.info.nfe, 3);
  const written = await readImage(out);
  assert.ok(maxAbsDiff(written, r.image) <= 1 / 127.5 + 1e-6);
  for (const t of [input, written]) t.dispose();
  r.dispose();
  up.dispose();
});

test('upsample: --format jpg embeds the parameters as XMP (no sidecar); cascade of two --model; latents with --scale 4', async () => {
  // A repeated --model is a cascade (2× then 2×); an input after --model stays an input.
  const p = run(['--model', model, 'a.png', '--model', model, '--out', 'out4', '--format', 'jpg', '--quiet']);
  assert.equal(p.status, 0, p.stderr);
  assert.equal(p.stderr, '', '--quiet prints nothing on success');
  assert.ok(existsSync(join(dir, 'out4', 'a_x4.jpg')));
  assert.ok(!existsSync(join(dir, 'out4', 'a_x4.jpg.json')), 'no sidecar');
  assert.equal((await readImageText(join(dir, 'out4', 'a_x4.jpg')))['fmboost:scale'], '4');
  const z = randn([4, 4, 5]);
  writeFileSync(join(dir, 'z.npy'), npyBytes(z.toFloat32Array(), [4, 4, 5]));
  z.dispose();
  const q = run(['z.npy', '--model', model, '--out', 'outz', '--latent-unscaled', '--scale', '4']);
  assert.equal(q.status, 0, q.stderr);
  // 4×5 latent → 16×20 image (VAE ×4) → ×4.
  assert.deepEqual(await probeImage(join(dir, 'outz', 'z_x4.png')).then((s) => [s.width, s.height]), [80, 64]);
  const bad = run(['a.png', '--model', model, '--format', 'gif']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--format must be png, jpg or webp/);
});

test('upsample without --model and without the bundled default: exit 2 and how to pass a model', () => {
  const p = run(['a.png'], { FMBOOST_DEFAULT_MODEL: join(dir, 'no-such-default.safetensors') });
  assert.equal(p.status, 2);
  assert.match(p.stderr, /^fmboost: the bundled default model is not installed/);
  assert.match(p.stderr, /--model PATH/);
  assert.ok(!existsSync(join(dir, 'upscaled', 'a_x2.png')));
});

test('upsample: absurd --steps, --threads, --seed, --precision, --quality are refused at once (exit 1), naming the flag and the range', async () => {
  for (const [args, re] of [
    [['--steps', '1000000000'], /--steps must be an integer from 1 to 1000, got '1000000000'/],
    [['--steps', '0'], /--steps must be an integer from 1 to 1000/],
    [['--threads', '100000'], /--threads 100000 is more than this machine's \d+ \(one per core; FMBOOST_FORCE_THREADS=1 allows 4 per core\): more threads than cores only contend/],
    [['--seed', '9007199254740993'], /--seed must be an integer from 0 to 9007199254740991/],
    [['--precision', 'fp16'], /--precision must be one of fp32, bf16, auto, got 'fp16'/],
    [['--quality', '101'], /--quality must be an integer from 1 to 100/],
    [['--background', 'nocolour'], /--background: 'nocolour' is not a colour/],
    [['--device', 'tpu'], /--device must be cpu, cuda or cuda:N, got 'tpu'/],
  ] as const) {
    const t0 = Date.now();
    const p = run(['a.png', '--model', model, '--out', 'never', ...args]);
    assert.equal(p.status, 1, p.stderr);
    assert.match(p.stderr, re);
    assert.equal(p.stderr.trim().split('\n').length, 1, `one line: ${p.stderr}`);
    assert.match(p.stderr, /^fmboost: /);
    assert.ok(Date.now() - t0 < 20_000, 'refused before any work');
    assert.ok(!existsSync(join(dir, 'never')), 'nothing written');
  }
  const ok = run(['a.png', '--model', model, '--out', 'bf16', '--precision', 'bf16']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal((await readImageText(join(dir, 'bf16', 'a_x2.png')))['fmboost:precision'], 'bf16');
});

test('upsample --profile: the op time by class and the top ops, per image, on stderr', () => {
  const p = run(['a.png', 'folder', '--model', model, '--out', 'prof', '--profile', '-q', '--overwrite']);
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stderr, /^fmboost upsample --profile \(fp32, \d+ threads\): [\d.]+ ms\/image wall, [\d.]+ in libtorch ops/m);
  assert.match(p.stderr, /^ {2}conv\s+[\d.]+\s+[\d.]+%/m);
  assert.match(p.stderr, /^ {2}outside ops \(JS, N-API\)/m);
  assert.match(p.stderr, /aten::mkldnn_convolution|aten::_convolution|aten::convolution/);
});
