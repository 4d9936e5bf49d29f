// Deletes compiled files in dist/ whose TypeScript source is gone, so that a test or import of a
// moved module fails here as it does on CI's clean clone (tsc never removes its old outputs).
// Only orphans are removed: a training running from dist/ keeps its files.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const DIST = join(ROOT, 'dist');
const OUTPUT = /(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/;
let removed = 0;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      walk(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
      continue;
    }
    const m = OUTPUT.exec(name);
    if (!m) continue;
    const source = join(ROOT, relative(DIST, dir), name.slice(0, -m[1].length) + '.ts');
    if (!existsSync(source)) {
      rmSync(path);
      removed++;
    }
  }
}

if (existsSync(DIST)) walk(DIST);
if (removed > 0) console.error(`prune_dist: removed ${removed} stale file(s) from dist/`);
