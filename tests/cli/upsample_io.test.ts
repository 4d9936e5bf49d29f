// `fmboost upsample` images in and out as users of upscalers expect (subprocess): alpha kept, JPEG flattened on
// --background, EXIF orientation applied, ICC kept (or stripped), stdin / stdout, -o FILE, --json, collisions
// and existing outputs refused before work, --skip-existing / --overwrite; snake_case aliases; one-line errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { readImageText } from '../../src/data/index.js';
import { ROOT } from '../helpers.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';

const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
let dir: string, cleanup: () => void, model: string;

const cli = (args: string[], input?: Buffer) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd: dir, input, maxBuffer: 64 * 2 ** 20 });
const up = (args: string[], input?: Buffer) => cli(['upsample', '--model', model, '-q', ...args], input);
const err = (p: ReturnType<typeof cli>) => p.stderr.toString();

/** 16×16 RGBA: left half transparent (its hidden colour blue), right half opaque green. */
function rgbaPixels(): Buffer {
  const px = Buffer.alloc(16 * 16 * 4);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
    const i = (y * 16 + x) * 4;
    if (x < 8) px.set([0, 0, 255, 0], i); else px.set([40, 200, 60, 255], i);
  }
  return px;
}

before(async () => {
  ({ dir, cleanup } = tmpDir('fmboost-cli-io-'));
  model = writeTinyBundle(join(dir, 'tiny.safetensors'), { steps: 3 }, 1, 'tiny-io');
  await sharp(rgbaPixels(), { raw: { width: 16, height: 16, channels: 4 } }).png().toFile(join(dir, 'rgba.png'));
  // stored 16 wide × 24 high, EXIF orientation 6: shown 24 wide × 16 high
  await sharp({ create: { width: 16, height: 24, channels: 3, background: '#808080' } }).jpeg().withMetadata({ orientation: 6 }).toFile(join(dir, 'phone.jpg'));
  await sharp({ create: { width: 16, height: 16, channels: 3, background: '#c04020' } }).withIccProfile('p3').png().toFile(join(dir, 'p3.png'));
  mkdirSync(join(dir, 'dA'));
  mkdirSync(join(dir, 'dB'));
  for (const p of ['dA/photo.png', 'dA/photo.webp', 'dB/photo.png']) await sharp({ create: { width: 16, height: 16, channels: 3, background: '#336699' } }).toFile(join(dir, p));
});
after(() => cleanup());

test('alpha: RGBA in → RGBA out (transparent stays transparent); jpg flattened onto --background', async () => {
  const p = up(['rgba.png', '-o', 'rgba_x2.png']);
  assert.equal(p.status, 0, err(p));
  const { data, info } = await sharp(join(dir, 'rgba_x2.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [32, 32, 4]);
  const at = (x: number, y: number) => [...data.subarray((y * 32 + x) * 4, (y * 32 + x) * 4 + 4)];
  assert.equal(at(2, 16)[3], 0, 'transparent half stays transparent');
  assert.equal(at(29, 16)[3], 255, 'opaque half stays opaque');
  const j = up(['rgba.png', '-o', 'flat.jpg', '--background', '#ff0000']);
  assert.equal(j.status, 0, err(j));
  const f = await sharp(join(dir, 'flat.jpg')).raw().toBuffer({ resolveWithObject: true });
  assert.equal(f.info.channels, 3);
  const px = [...f.data.subarray((16 * 32 + 2) * 3, (16 * 32 + 2) * 3 + 3)];
  assert.ok(px[0] > 200 && px[1] < 60 && px[2] < 60, `transparent pixels flattened onto red, got ${px}`);
});

test('EXIF orientation is applied (a phone photo is not sideways) and the output is upright; ICC kept unless --strip-metadata', async () => {
  const p = up(['phone.jpg', '-o', 'phone_x2.jpg']);
  assert.equal(p.status, 0, err(p));
  const m = await sharp(join(dir, 'phone_x2.jpg')).metadata();
  assert.deepEqual([m.width, m.height], [48, 32]);
  assert.ok(m.orientation === undefined || m.orientation === 1, `orientation ${m.orientation}`);
  const q = up(['p3.png', '-o', 'p3_x2.png']);
  assert.equal(q.status, 0, err(q));
  const withIcc = await sharp(join(dir, 'p3_x2.png')).metadata();
  assert.ok(withIcc.icc && withIcc.icc.length > 100, 'the Display-P3 profile is kept');
  const s = up(['p3.png', '-o', 'p3_strip.png', '--strip-metadata']);
  assert.equal(s.status, 0, err(s));
  assert.equal((await sharp(join(dir, 'p3_strip.png')).metadata()).icc, undefined);
  assert.deepEqual(await readImageText(join(dir, 'p3_strip.png')), {}, 'no run parameters either');
});

test('stdin to stdout; -o FILE; --json lines; --skip-existing and --overwrite', async () => {
  const p = up(['-', '-o', '-', '--format', 'webp'], readFileSync(join(dir, 'rgba.png')));
  assert.equal(p.status, 0, err(p));
  const m = await sharp(p.stdout).metadata();
  assert.deepEqual([m.format, m.width, m.height, m.hasAlpha], ['webp', 32, 32, true]);
  assert.equal((await readImageText(p.stdout))['fmboost:input'], 'stdin');
  const j = up(['dA', '-o', 'js', '--name', '{stem}_{srcext}.{ext}', '--json']);
  assert.equal(j.status, 0, err(j));
  const lines = j.stdout.toString().trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.status, l.width, l.height, l.steps]), [['done', 32, 32, 2], ['done', 32, 32, 2]]);
  assert.ok(lines.every((l) => existsSync(l.output)));
  const before = statSync(lines[0].output).mtimeMs;
  const again = up(['dA', '-o', 'js', '--name', '{stem}_{srcext}.{ext}', '--json']);
  assert.equal(again.status, 1, 'existing outputs refused');
  assert.match(err(again), /2 outputs already exist \(nothing was written\).*--overwrite.*--skip-existing/);
  const skip = up(['dA', '-o', 'js', '--name', '{stem}_{srcext}.{ext}', '--json', '--skip-existing']);
  assert.equal(skip.status, 0, err(skip));
  assert.deepEqual(skip.stdout.toString().trim().split('\n').map((l) => JSON.parse(l).status), ['skipped', 'skipped']);
  assert.equal(statSync(lines[0].output).mtimeMs, before, 'left alone');
  const over = up(['dA', '-o', 'js', '--name', '{stem}_{srcext}.{ext}', '--overwrite']);
  assert.equal(over.status, 0, err(over));
  assert.deepEqual(readdirSync(join(dir, 'js')).sort(), ['photo_png.png', 'photo_webp.png'], 'no temp files left');
});

test('collisions: dA/photo.png, dA/photo.webp, dB/photo.png into one folder is refused before any work', () => {
  const p = up(['dA', 'dB', '-o', 'clash']);
  assert.equal(p.status, 1);
  assert.match(err(p), /^fmboost: 2 output name collisions \(nothing was written\)/);
  assert.ok(!existsSync(join(dir, 'clash')) || readdirSync(join(dir, 'clash')).length === 0);
});

test('one error format: unknown options are one line with a suggestion; snake_case flags are aliases', () => {
  const p = cli(['upsample', 'x.png', '--stepz', '3']);
  assert.equal(p.status, 1);
  assert.equal(err(p), "fmboost: unknown option '--stepz' (did you mean --steps?); --help lists the options\n");
  const t = cli(['train', '--resume_checkpoint', join(dir, 'nowhere')]);
  assert.doesNotMatch(err(t), /unknown option/);
  assert.match(err(t), /^fmboost: .*nowhere/);
  assert.equal(t.status, 2, 'a missing checkpoint is bad input');
});

test('16-bit and grayscale inputs: 8-bit RGB outputs equal to those of the same picture as 8-bit RGB', async () => {
  const px8 = Buffer.alloc(16 * 16 * 3);
  for (let i = 0; i < px8.length; i++) px8[i] = (i * 37 + (i >> 4) * 11) % 256;
  const gray8 = Buffer.alloc(16 * 16);
  for (let i = 0; i < gray8.length; i++) gray8[i] = (i * 13) % 256;
  await sharp(px8, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(join(dir, 'rgb8.png'));
  // the same picture stored with 16 bits per sample (sharp widens each 8-bit value)
  await sharp(join(dir, 'rgb8.png')).toColourspace('rgb16').png().toFile(join(dir, 'rgb16.png'));
  assert.equal((await sharp(join(dir, 'rgb16.png')).metadata()).depth, 'ushort', 'the fixture is 16-bit');
  await sharp(gray8, { raw: { width: 16, height: 16, channels: 1 } }).toColourspace('b-w').png().toFile(join(dir, 'gray.png'));
  assert.equal((await sharp(join(dir, 'gray.png')).metadata()).channels, 1, 'the fixture is grayscale');
  await sharp(gray8, { raw: { width: 16, height: 16, channels: 1 } }).toColourspace('srgb').png().toFile(join(dir, 'gray_rgb.png'));
  const outputs: Record<string, { data: Buffer; info: sharp.OutputInfo }> = {};
  for (const name of ['rgb8', 'rgb16', 'gray', 'gray_rgb']) {
    const p = up([`${name}.png`, '-o', `${name}_up.png`, '--strip-metadata']);
    assert.equal(p.status, 0, err(p));
    const meta = await sharp(join(dir, `${name}_up.png`)).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels, meta.depth], [32, 32, 3, 'uchar'], `${name}: 8-bit RGB out`);
    outputs[name] = await sharp(join(dir, `${name}_up.png`)).raw().toBuffer({ resolveWithObject: true });
  }
  assert.ok(outputs.rgb16.data.equals(outputs.rgb8.data), '16-bit input = its 8-bit twin (decoded to 8-bit precision)');
  assert.ok(outputs.gray.data.equals(outputs.gray_rgb.data), 'grayscale input = the same picture as RGB');
});
