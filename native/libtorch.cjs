// Locates libtorch for the build: $LIBTORCH first (an unpacked libtorch, e.g. a CUDA 2.x build),
// then the system install (Debian/Ubuntu libtorch-dev). Prints gyp-ready lists; the loader shares it.
'use strict';
const fs = require('fs');
const path = require('path');

const APT_HINT = 'On Debian/Ubuntu: sudo apt-get install -y libtorch-dev libopenblas-dev\n' +
  'Elsewhere: unpack a libtorch (>= 1.13) and set LIBTORCH=/path/to/libtorch before `npm install`.';

function readVersion(includeDir) {
  const f = path.join(includeDir, 'torch/csrc/api/include/torch/version.h');
  if (!fs.existsSync(f)) return null;
  const src = fs.readFileSync(f, 'utf8');
  const get = (k) => Number((src.match(new RegExp(`#define TORCH_VERSION_${k}\\s+(\\d+)`)) || [])[1]);
  return { major: get('MAJOR'), minor: get('MINOR'), patch: get('PATCH') };
}

function locate() {
  const candidates = [];
  if (process.env.LIBTORCH) {
    const root = path.resolve(process.env.LIBTORCH);
    candidates.push({ source: 'LIBTORCH', include: path.join(root, 'include'), lib: path.join(root, 'lib') });
  } else {
    for (const lib of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib']) {
      candidates.push({ source: 'system', include: lib.startsWith('/usr/local') ? '/usr/local/include' : '/usr/include', lib });
    }
  }
  for (const c of candidates) {
    const version = readVersion(c.include);
    if (version && fs.existsSync(path.join(c.lib, 'libtorch.so'))) return { ...c, version };
  }
  const where = process.env.LIBTORCH ? `LIBTORCH=${process.env.LIBTORCH} holds no include/torch and lib/libtorch.so` : 'no libtorch found in the system paths';
  throw new Error(`fmboost: ${where}.\n${APT_HINT}`);
}

function check(found) {
  const { major, minor } = found.version;
  if (major < 1 || (major === 1 && minor < 13)) {
    throw new Error(`fmboost: libtorch ${major}.${minor} at ${found.lib} is too old (need >= 1.13).\n${APT_HINT}`);
  }
  return found;
}

module.exports = { locate, check, APT_HINT };

if (require.main === module) {
  const found = check(locate());
  const what = process.argv[2];
  const inc = [found.include, path.join(found.include, 'torch/csrc/api/include')];
  const libs = ['-L' + found.lib, '-Wl,-rpath,' + found.lib, '-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10'];
  if (fs.existsSync(path.join(found.lib, 'libtorch_cuda.so'))) libs.push('-ltorch_cuda', '-lc10_cuda');
  libs.push('-Wl,--as-needed');
  // Prebuilt libtorch from pytorch.org uses the pre-C++11 ABI; distro builds use the new one.
  const abi = found.source === 'LIBTORCH' && fs.existsSync(path.join(found.lib, '..', 'build-hash')) ? '-D_GLIBCXX_USE_CXX11_ABI=0' : '';
  // c10d's Gloo process group needs gloo's headers (Debian: libgloo-dev; pip/libtorch zips ship them in include/);
  // NCCL's needs a CUDA libtorch and nccl.h. Without them the addon builds and says so when asked for that backend.
  const defs = [];
  const incDirs = [found.include, '/usr/include', '/usr/local/include', process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, 'include')].filter(Boolean);
  if (incDirs.some((d) => fs.existsSync(path.join(d, 'gloo', 'context.h')))) defs.push('-DUSE_C10D_GLOO');
  if (fs.existsSync(path.join(found.lib, 'libtorch_cuda.so')) && incDirs.some((d) => fs.existsSync(path.join(d, 'nccl.h')))) defs.push('-DUSE_C10D_NCCL');
  if (what === '--include') console.log(inc.join(' '));
  else if (what === '--libs') console.log(libs.join(' '));
  else if (what === '--cflags') console.log([abi, ...defs].filter(Boolean).join(' '));
  else console.log(JSON.stringify(found));
}
