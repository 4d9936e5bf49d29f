// Builds the addon from source against the libtorch found by libtorch.cjs (nothing is downloaded).
// Skips the build when the binary is newer than every source, unless --force.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { locate, check } = require('./libtorch.cjs');

let found;
try {
  found = check(locate());
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const out = join(here, 'build/Release/fmboost_native.node');
const sources = [join(here, 'binding.gyp'), join(here, 'libtorch.cjs'), ...readdirSync(join(here, 'src')).map((f) => join(here, 'src', f))];
const fresh = existsSync(out) && sources.every((s) => statSync(s).mtimeMs < statSync(out).mtimeMs);
if (fresh && !process.argv.includes('--force')) {
  console.log(`fmboost: native addon is up to date (libtorch ${found.version.major}.${found.version.minor} at ${found.lib})`);
  process.exit(0);
}
console.log(`fmboost: building the native addon against libtorch ${found.version.major}.${found.version.minor}.${found.version.patch} (${found.source}: ${found.lib})`);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
// Node's headers ship with the system node (/usr/include/node); use them instead of downloading.
const nodedir = process.env.npm_config_nodedir || (existsSync('/usr/include/node/node.h') ? '/usr' : undefined);
const args = [gyp, 'rebuild', '--jobs=max', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
execFileSync(process.execPath, args, { cwd: here, stdio: 'inherit' });
