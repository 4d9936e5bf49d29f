// The web page in headless Chromium (Debian's /usr/bin/chromium via playwright-core), against the server
// with the REAL Upsampler in a worker: pick a file, press Upscale, wait for the result, check it is 2×.
// Chromium is a test requirement (scripts/setup.sh installs it): without it this test FAILS, never skips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { ServeApp } from '../../src/serve/server.js';
import { WorkerPool } from '../../src/serve/worker_pool.js';
import { gradientPng } from './fake_upscaler.js';
import { tmpDir, writeTinyBundle } from '../pipeline/tiny.js';

// Functions passed to page.evaluate run in the page; the Node build has no DOM types, so declare what they use.
declare const document: { getElementById(id: string): any };

const CHROMIUM = process.env.FMBOOST_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = join(tmpdir(), 'fmboost-serve-page.png');

const tmp = tmpDir('fmboost-serve-browser-');
let app: ServeApp;
let base: string;
let browser: Browser | undefined;

before(async () => {
  const model = writeTinyBundle(join(tmp.dir, 'tiny.safetensors'), { steps: 3 }, 4, 'tiny-browser');
  const pool = new WorkerPool({ size: 1, model, threads: 1, maxPixels: 1_000_000 });
  await pool.ready();
  app = new ServeApp({ upscaler: pool });
  base = `http://127.0.0.1:${(await app.listen(0)).port}`;
});

after(async () => {
  await browser?.close();
  await app?.close();
  tmp.cleanup();
});

test('page: upload, Upscale, progress, before/after and a 2× result', async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: install it (apt-get install chromium, as scripts/setup.sh does) or set FMBOOST_CHROMIUM`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  }).catch((e: Error) => assert.fail(`cannot launch Chromium at ${CHROMIUM}: ${e.message}`));
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });

  await page.goto(base + '/');
  assert.equal(await page.title(), 'fmboost — upscale an image');
  assert.equal(await page.isDisabled('#go'), true, 'Upscale is disabled until a file is chosen');
  // the scale list and the model's description come from /api/info (the tiny model is 2×: 2, 3 (4× shrunk), 4, 8)
  await page.waitForFunction(() => document.getElementById('scale').options.length === 4);
  assert.match((await page.textContent('#model-info'))!, /^tiny-browser · scales 2×, 3×, 4×, 8× · 2 euler steps by default · fp32$/);

  const W = 40, H = 28;
  await page.setInputFiles('#file', { name: 'gradient.png', mimeType: 'image/png', buffer: await gradientPng(W, H) });
  await page.fill('#steps', '4');
  assert.equal(await page.isDisabled('#quality'), true, 'quality is for JPEG / WebP');
  await page.selectOption('#format', 'webp');
  await page.fill('#quality', '80');
  assert.equal(await page.isDisabled('#go'), false);
  await page.click('#go');

  // the result image is loaded and the comparison shown
  await page.waitForFunction(() => {
    const img = document.getElementById('result');
    return img.complete && img.naturalWidth > 0 && !document.getElementById('compare-box').hidden;
  }, undefined, { timeout: 30_000 });
  const r = await page.evaluate(() => {
    const img = document.getElementById('result');
    const dl = document.getElementById('download');
    return { w: img.naturalWidth, h: img.naturalHeight, href: dl.getAttribute('href'), name: dl.download, status: document.getElementById('status').textContent,
      error: document.getElementById('error').textContent, sizes: document.getElementById('sizes').textContent };
  });
  assert.deepEqual([r.w, r.h], [2 * W, 2 * H], 'the result is 2× the input');
  assert.match(r.href!, /^\/api\/jobs\/[0-9a-f-]{36}\/result/);
  assert.equal(r.name, 'gradient_x2.webp');
  assert.match(r.status!, /^Done in \d+\.\d s\.$/);
  assert.equal(r.error, '');
  assert.equal(r.sizes, `${W}×${H} → ${2 * W}×${2 * H}`);
  const webp = await fetch(base + r.href!);
  assert.equal(webp.headers.get('content-type'), 'image/webp', 'the chosen format is what the server encodes');

  // the divider follows the pointer dragged on the image itself, and the arrow keys; both sides are labelled
  await page.locator('#compare').scrollIntoViewIfNeeded();
  const box = (await page.locator('#compare').boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2, { steps: 4 });
  const split = async () => page.evaluate(() => parseFloat(document.getElementById('compare').style.getPropertyValue('--split')));
  assert.ok(Math.abs((await split()) - 25) < 1, `divider at ${await split()}% after dragging to 25%`);
  await page.mouse.up();
  const divider = (await page.locator('#divider').boundingBox())!;
  assert.ok(Math.abs(divider.x - (box.x + box.width * 0.25)) <= 2, 'the drawn divider is where the pointer is');
  await page.focus('#compare');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('#compare', 'aria-valuenow'), '30');
  assert.equal(await page.textContent('.tag-before'), 'Before (input, enlarged)');
  assert.equal(await page.textContent('.tag-after'), 'After (fmboost)');

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual(problems, []);

  // scales whose output would pass the server's limit (16 MP) are disabled for a 1000×1000 image: 8× = 64 MP
  await page.setInputFiles('#file', { name: 'big.png', mimeType: 'image/png', buffer: await gradientPng(1000, 1000) });
  await page.waitForFunction(() => document.getElementById('scale-note').textContent !== '');
  assert.deepEqual(await page.evaluate(() => [...document.getElementById('scale').options].map((o: any) => o.disabled)), [false, false, false, true]);
  assert.match((await page.textContent('#scale-note'))!, /^8× would make more than this server's 16 MP for a 1000×1000 image\.$/);

  // a long job shows its progress with an ETA, and Cancel stops it
  await page.setInputFiles('#file', { name: 'slow.png', mimeType: 'image/png', buffer: await gradientPng(96, 96) });
  await page.fill('#steps', '200');
  await page.click('#go');
  await page.waitForFunction(() => / left$/.test(document.getElementById('status').textContent), undefined, { timeout: 30_000 });
  assert.match((await page.textContent('#status'))!, /^(Integrating the flow|Decoding): \d+ \/ \d+ · \d+% · about \d+:\d\d left$/);
  await page.click('#cancel');
  await page.waitForFunction(() => document.getElementById('error').textContent === 'Cancelled.', undefined, { timeout: 30_000 });
  assert.equal(await page.isHidden('#cancel'), true);

  // an image over the server's pixel limit is refused in the page, before upload: a 16 MP PNG (47 KB) against 4 MP
  const bomb = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#000' } }).png({ compressionLevel: 9 }).toBuffer();
  await page.setInputFiles('#file', { name: 'bomb.png', mimeType: 'image/png', buffer: bomb });
  await page.waitForFunction(() => document.getElementById('error').textContent !== '');
  assert.equal(await page.textContent('#error'), 'image too large: 4000×4000 is 16.0 MP; this server accepts at most 4.0 MP.');
  assert.equal(await page.isDisabled('#go'), true);
  assert.equal(await page.isHidden('#compare-box'), true);

  // a non-image chosen in the page is refused before upload, with a message
  await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  assert.match((await page.textContent('#error'))!, /not a PNG, JPEG or WebP image/);
});
