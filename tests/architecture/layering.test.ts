// The layering check of .dependency-cruiser.cjs: src/ passes it, and it does fail on each kind of violation
// (shown on a throwaway tree, so the rules are known to bite).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from '../helpers.js';

const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

function cruise(cwd: string): { status: number | null; out: string } {
  const r = spawnSync(DEPCRUISE, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('src/ keeps the layering and has no import cycle', () => {
  const r = cruise(ROOT);
  assert.equal(r.status, 0, r.out);
});

test('the layering rules catch an upward import, a sibling import, a cycle and an unranked folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-layering-'));
  try {
    copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
    const files: Record<string, string> = {
      'src/util/up.ts': "import { run } from '../cli/main.js';\nexport const x = run;\n",
      'src/cli/main.ts': 'export const run = 1;\n',
      'src/train/a.ts': "import { b } from '../pipeline/b.js';\nexport const a = b;\n",
      'src/pipeline/b.ts': 'export const b = 2;\n',
      'src/flow/c1.ts': "import { c2 } from './c2.js';\nexport const c1 = () => c2();\n",
      'src/flow/c2.ts': "import { c1 } from './c1.js';\nexport const c2 = () => c1;\n",
      'src/eval/uses_new.ts': "import { n } from '../newfolder/n.js';\nexport const u = n;\n",
      'src/newfolder/n.ts': 'export const n = 3;\n',
    };
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    }
    const r = cruise(dir);
    assert.notEqual(r.status, 0, r.out);
    for (const rule of ['layer-util', 'layer-train', 'no-circular', 'unranked-folder']) assert.match(r.out, new RegExp(rule), `${rule} not reported:\n${r.out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
