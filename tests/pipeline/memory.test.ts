// Memory by estimate (pipeline/memory.ts): the estimator bounds the peaks measured on the bundled model, picks
// the whole image when it fits and 512 px tiles otherwise, falls back to the blended VAE tiling, and refuses
// what cannot fit; end to end, a 512² → 2048² upscale through the CLI and through serve stays under 4 GB peak
// RSS by default, and a budget too small is refused at once (exit 2) with the estimate and the remedy.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { resolveUNetConfig } from '../../src/models/unet/config.js';
import { resolveVAEConfig } from '../../src/models/vae/config.js';
import { VAE_PRESETS } from '../../src/models/presets.js';
import { chooseTiling, estimatePass, parseMemorySize } from '../../src/pipeline/memory.js';
import { ROOT } from '../helpers.js';
import { readEvents } from '../serve/fake_upscaler.js';

const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'fmboost-mem-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MB = 2 ** 20, GB = 2 ** 30;

// the bundled model's stages (configs/default/cfm.yaml, the vae_f4c8 preset)
const unet = resolveUNetConfig({ inChannels: 16, modelChannels: 96, outChannels: 8, numResBlocks: 2, channelMult: [1, 2, 2], attentionResolutions: [4], dimHead: 32, numHeads: 4, useScaleShiftNorm: true });
const vae = resolveVAEConfig(VAE_PRESETS.vae_f4c8.config);

test('the estimate is above every peak measured on the bundled model (MB above the loaded model)', () => {
  const est = (side: number, tile: number | null) => estimatePass(unet, vae, 4, 8, side, side, tile, 'exact').bytes / MB;
  // bench/upscale_child.js, 2026-12-08, 2 threads, fp32 (pipeline/memory.ts)
  for (const [side, tile, measured] of [[512, null, 513], [1024, null, 1779], [1536, null, 4246], [2048, null, 10160], [1024, 128, 849], [2048, 64, 1539], [2048, 128, 1774]] as const) {
    const e = est(side, tile);
    assert.ok(e >= measured && e <= 1.6 * measured, `${side} px, tile ${tile}: estimate ${e.toFixed(0)} MB vs measured ${measured}`);
  }
  assert.ok(est(2048, 64) < est(2048, 128), 'smaller tiles need less');
});

test('chooseTiling: whole image when it fits, else 512 px tiles, the blended VAE when the exact one cannot fit, refusal below that', () => {
  const whole = chooseTiling(unet, vae, 4, 8, 512, 512, 4, 3.6 * GB);
  assert.equal(whole.fit?.tile, null);
  const big = chooseTiling(unet, vae, 4, 8, 2048, 2048, 4, 3.6 * GB);
  assert.deepEqual([big.fit?.tile, big.fit?.overlap, big.fit?.vaeTiling], [128, 32, 'exact']);
  const huge = chooseTiling(unet, vae, 4, 8, 8192, 8192, 4, 16 * GB);
  assert.equal(huge.fit?.vaeTiling, 'blend', 'the exact tiling keeps whole-image activations: 21 GB at 8192²');
  assert.ok(huge.fit!.estimate.bytes <= 16 * GB);
  const none = chooseTiling(unet, vae, 4, 8, 8192, 8192, 4, 2 * GB);
  assert.equal(none.fit, null);
  assert.ok(none.smallest.estimate.bytes > 2 * GB && none.smallest.tile === 4);
  assert.equal(parseMemorySize('4G'), 4 * GB);
  assert.equal(parseMemorySize('512m'), 512 * MB);
  assert.equal(parseMemorySize('1.5GiB'), 1.5 * GB);
  assert.throws(() => parseMemorySize('lots'), /memory size/);
});

/** Runs the CLI with a wrapper that prints the process's peak RSS (VmHWM, kB) on stderr at exit. */
function cliWithPeak(args: string[]): { status: number | null; stderr: string; peakMB: number; seconds: number } {
  const wrapper = join(dir, 'peak.mjs');
  writeFileSync(wrapper, `import { readFileSync, writeSync } from 'node:fs';
process.on('exit', () => { const m = /VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8')); writeSync(2, 'VmHWM ' + m[1] + '\\n'); });
await import(${JSON.stringify(MAIN)});`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [wrapper, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, FMBOOST_THREADS: '2' } });
  const peak = Number(/VmHWM (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  return { status: r.status, stderr: r.stderr, peakMB: peak, seconds: (Date.now() - t0) / 1000 };
}

async function noisyPng(side: number, path: string): Promise<string> {
  const b = Buffer.alloc(side * side * 3);
  for (let i = 0; i < b.length; i++) b[i] = (Math.sin(i / 97) * 100 + 128 + ((i * 7919) % 37)) | 0;
  await sharp(b, { raw: { width: side, height: side, channels: 3 } }).png().toFile(path);
  return path;
}

test('CLI: 128² → 512² and 512² → 2048² with the bundled model under 4 GB peak RSS by default; a too-small budget is refused at once', async () => {
  for (const side of [128, 512]) {
    const input = await noisyPng(side, join(dir, `in${side}.png`));
    const out = join(dir, `out${side}.png`);
    const r = cliWithPeak(['upsample', input, '-o', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await sharp(out).metadata()).width, side * 4);
    assert.ok(r.peakMB < 4096, `${side}² → ${side * 4}²: peak RSS ${r.peakMB.toFixed(0)} MB`);
  }
  const r = cliWithPeak(['upsample', join(dir, 'in512.png'), '-o', join(dir, 'refused.png'), '--max-memory', '300M']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /a 2048×2048 output needs about \d+ MB even in the smallest tiles \(16 px\), above the memory budget of 300 MB less \d+ MB this process holds; raise maxMemory \(--max-memory\)/);
  assert.ok(r.seconds < 30 && !existsSync(join(dir, 'refused.png')), 'refused before any work');
  // a 6000² picture (a small file: one colour) whose 24000² output cannot fit: refused from its header, undecoded
  await sharp({ create: { width: 6000, height: 6000, channels: 3, background: '#446688' } }).png().toFile(join(dir, 'big.png'));
  const big = cliWithPeak(['upsample', join(dir, 'big.png'), '-o', join(dir, 'big_x4.png')]);
  assert.equal(big.status, 2, big.stderr);
  assert.match(big.stderr, /a 24000×24000 output needs about [\d.]+ GB even in the smallest tiles/);
  assert.ok(big.peakMB < 1024 && big.seconds < 30, `refused in ${big.seconds} s at ${big.peakMB.toFixed(0)} MB peak RSS (decoding alone would take 0.5 GB)`);
  const t = cliWithPeak(['upsample', join(dir, 'in512.png'), '-o', join(dir, 'refused.png'), '--tile', '2048']);
  assert.equal(t.status, 2);
  assert.match(t.stderr, /with tileSize 2048 needs about \d+\.\d GB, above the memory budget of .* use a smaller tileSize \(--tile\) or leave it out/);
});

test('library: Upsampler.upsampleImage(path) and checkFits refuse from the header what cannot fit, before decoding', async () => {
  const { Upsampler, MemoryBudgetError } = await import('../../src/pipeline/index.js');
  const up = await Upsampler.load({ threads: 1 });
  try {
    const rss = process.memoryUsage.rss();
    await assert.rejects(up.upsampleImage(join(dir, 'big.png')), (e: Error) => e instanceof MemoryBudgetError && /a 24000×24000 output needs about/.test(e.message));
    assert.ok(process.memoryUsage.rss() - rss < 256 * MB, 'not decoded');
    assert.throws(() => up.checkFits(6000, 6000), MemoryBudgetError);
    assert.doesNotThrow(() => up.checkFits(512, 512));
    assert.throws(() => up.checkFits(512, 512, { maxMemory: 64 * MB }), /even in the smallest tiles/);
  } finally {
    up.dispose();
  }
});

test('serve: a 512² → 2048² job under 4 GB peak RSS of the server by default', async () => {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--threads', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  try {
    const port = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line: ${out} ${err}`)), 60_000);
      child.stdout.on('data', () => { const m = /listening on http:\/\/[^/]+:(\d+)\//.exec(out); if (m) { clearTimeout(t); resolve(m[1]); } });
    });
    const base = `http://127.0.0.1:${port}`;
    const r = await fetch(`${base}/api/upscale`, { method: 'POST', body: readFileSync(join(dir, 'in512.png')), headers: { 'Content-Type': 'image/png' } });
    assert.equal(r.status, 202, await r.clone().text());
    const job = (await r.json()) as { events: string; result: string };
    const events = await readEvents(`${base}${job.events}`);
    assert.equal(events.at(-1)!.event, 'done', JSON.stringify(events.at(-1)));
    const png = Buffer.from(await (await fetch(`${base}${job.result}`)).arrayBuffer());
    assert.equal((await sharp(png).metadata()).width, 2048);
    const peakMB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
    assert.ok(peakMB < 4096, `server peak RSS ${peakMB.toFixed(0)} MB`);
  } finally {
    child.kill('SIGTERM');
  }
});
