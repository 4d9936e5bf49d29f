// Screenshot of the web page with the bundled model (docs/figures/page.png): serve in-process, upload a bundled
// sample in headless Chromium, drag the divider, capture. Run after `npm run build`:
//   node scripts/docs/page_screenshot.mjs [out.png]
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { ServeApp } = await import(join(root, 'dist/src/serve/server.js'));
const { WorkerPool } = await import(join(root, 'dist/src/serve/worker_pool.js'));
const out = resolve(process.argv[2] ?? join(root, 'docs/figures/page.png'));
const pool = new WorkerPool({ size: 1, threads: 2, maxPixels: 4_000_000 });
await pool.ready();
const app = new ServeApp({ upscaler: pool });
const base = `http://127.0.0.1:${(await app.listen(0)).port}`;
const browser = await chromium.launch({ executablePath: process.env.FMBOOST_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  await page.goto(base + '/');
  await page.waitForSelector('#model-box:not([hidden])');
  await page.setInputFiles('#file', { name: 'city_128x128_crop.png', mimeType: 'image/png', buffer: readFileSync(join(root, 'samples/city_128x128_crop.png')) });
  await page.click('#go');
  await page.waitForFunction(() => !document.getElementById('compare-box').hidden, undefined, { timeout: 120_000 });
  await page.locator('#compare').scrollIntoViewIfNeeded();
  const box = await page.locator('#compare').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 3 });
  await page.mouse.up();
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await app.close();
}
