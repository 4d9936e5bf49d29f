// Builds the natural-photo data set from extracted Debian packages (assemble.sh downloads and
// extracts them): selects photographs, records provenance and licences in data/manifest.json,
// writes the versioned test split data/test_split.json and, with --tiles, 256² training/test tiles
// under data/photos/{train,test}/ (gitignored) with their provenance in data/photos/tiles.json.
//
// Usage: node dist/scripts/data/assemble.js [--cache data/cache] [--out data] [--tiles]
//        [--tile-size 256] [--max-short-side 1024]
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import sharp from 'sharp';
import { addPngText } from '../../src/util/png_text.js';
import { licenseFor, parseCopyright } from './dep5.js';
import { hamming, heuristicIsPhoto, imageFeatures } from './features.js';
import { MIN_SHORT_SIDE, SOURCES, SPLIT_VERSION, TEST_FRACTION, type PackageSource, type Verdict } from './sources.js';
import { computeTestSplit, splitOf } from './split.js';

export interface ManifestImage {
  package: string;
  version: string;
  /** Path inside the package (as installed, without leading '/'). */
  path: string;
  /** Path in the source tree that debian/copyright's Files: patterns were matched against. */
  sourcePath: string;
  license: string;
  copyright: string;
  licensePattern: string | null;
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
  group: string;
  verdictSource: 'review' | 'package-review' | 'heuristic';
  heuristicPhoto: boolean;
  flatFraction: number;
  chroma: number;
  dhash: string;
}

export interface Manifest {
  format: 'fmboost-photo-manifest/1';
  packages: Array<{ package: string; version: string; deb: string; debSha256: string; debBytes: number;
    copyrightFormat: 'dep5' | 'free-text'; licenseNote?: string }>;
  images: ManifestImage[];
  rejected: Array<{ package: string; path: string; reason: string }>;
  heuristic: { reviewed: number; agree: number };
}

const NEAR_DUPLICATE_BITS = 4;

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') { re += '.*'; i++; }
    else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, root: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, root, out);
    else if (e.isFile()) out.push(relative(root, p));
  }
  return out;
}

function nameOf(src: PackageSource, rel: string): string {
  if (src.nameSegment !== undefined) return rel.split('/')[src.nameSegment]!;
  return basename(rel, extname(rel));
}

function sourcePathOf(src: PackageSource, rel: string): string {
  for (const [inst, srcp] of src.sourcePrefix) if (rel.startsWith(inst)) return srcp + rel.slice(inst.length);
  return rel;
}

function debInfo(cache: string, pkg: string) {
  const debs = readdirSync(join(cache, 'debs')).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (debs.length !== 1) throw new Error(`expected one ${pkg}_*.deb in ${cache}/debs, found ${debs.length}: run scripts/data/assemble.sh`);
  const deb = join(cache, 'debs', debs[0]!);
  const version = execFileSync('dpkg-deb', ['-f', deb, 'Version'], { encoding: 'utf8' }).trim();
  return { deb: debs[0]!, version, debSha256: sha256File(deb), debBytes: statSync(deb).size };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); }
  }));
  return out;
}

interface Candidate { src: PackageSource; rel: string; abs: string; name: string }

/** Union-find over accepted images: initial groups from groupPattern, merged by near-identical dHash. */
function assignGroups(items: Array<{ key: string; sha256: string; dhash: string }>): string[] {
  const parent = items.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const union = (a: number, b: number) => { parent[find(a)] = find(b); };
  const byKey = new Map<string, number>();
  items.forEach((it, i) => { const j = byKey.get(it.key); if (j === undefined) byKey.set(it.key, i); else union(i, j); });
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      if (hamming(items[i]!.dhash, items[j]!.dhash) <= NEAR_DUPLICATE_BITS) union(i, j);
    }
  }
  // A group is named by the smallest sha256 among its members: content-based and path-independent.
  const name = new Map<number, string>();
  items.forEach((it, i) => { const r = find(i); const cur = name.get(r); if (!cur || it.sha256 < cur) name.set(r, it.sha256); });
  return items.map((_, i) => name.get(find(i))!);
}

export async function buildManifest(cache: string): Promise<Manifest> {
  const manifest: Manifest = { format: 'fmboost-photo-manifest/1', packages: [], images: [], rejected: [], heuristic: { reviewed: 0, agree: 0 } };
  const accepted: Array<{ img: Omit<ManifestImage, 'group'>; key: string }> = [];
  const seenSha = new Map<string, string>();

  for (const src of SOURCES) {
    const root = join(cache, 'root', src.package);
    if (!existsSync(root)) throw new Error(`${root} missing: run scripts/data/assemble.sh (downloads and extracts the packages)`);
    const info = debInfo(cache, src.package);
    const copyrightText = readFileSync(join(root, 'usr/share/doc', src.package, 'copyright'), 'utf8');
    const cr = parseCopyright(copyrightText);
    manifest.packages.push({ package: src.package, version: info.version, deb: info.deb, debSha256: info.debSha256,
      debBytes: info.debBytes, copyrightFormat: cr.machineReadable ? 'dep5' : 'free-text',
      ...(src.licenseNote ? { licenseNote: src.licenseNote } : {}) });

    const globs = src.include.map(globToRegExp);
    let cands: Candidate[] = walk(root, root).filter((rel) => globs.some((g) => g.test(rel))).sort()
      .map((rel) => ({ src, rel, abs: join(root, rel), name: nameOf(src, rel) }));

    const feats = await mapLimit(cands, 2, async (c) => {
      try { return await imageFeatures(c.abs); } catch (e) { return e as Error; }
    });
    const featOf = new Map(cands.map((c, i) => [c.rel, feats[i]!]));

    if (src.largestPerDir) {
      // Keep the largest decodable landscape file per folder; the other sizes are the same picture.
      const best = new Map<string, Candidate>();
      const area = (c: Candidate) => { const f = featOf.get(c.rel); return f instanceof Error || f!.width < f!.height ? -1 : f!.width * f!.height; };
      for (const c of cands) { const d = dirname(c.rel); const b = best.get(d); if (!b || area(c) > area(b)) best.set(d, c); }
      const keep = new Set([...best.values()].map((c) => c.rel));
      for (const c of cands) if (!keep.has(c.rel)) manifest.rejected.push({ package: src.package, path: c.rel, reason: 'smaller size of the same wallpaper' });
      cands = cands.filter((c) => keep.has(c.rel));
    }

    for (const c of cands) {
      const f = featOf.get(c.rel)!;
      const reject = (reason: string) => manifest.rejected.push({ package: src.package, path: c.rel, reason });
      if (f instanceof Error) { reject(`undecodable: ${f.message}`); continue; }
      const heur = heuristicIsPhoto(f);
      const rev = src.review?.[c.name] ?? src.defaultVerdict;
      const verdict: Verdict = rev ? rev.verdict : heur ? 'photo' : 'graphic';
      if (rev) { manifest.heuristic.reviewed++; if ((rev.verdict === 'photo') === heur) manifest.heuristic.agree++; }
      if (verdict === 'graphic') { reject(rev ? `graphic: ${rev.why}` : `graphic (heuristic: flat ${f.flatFraction.toFixed(2)}, chroma ${f.chroma.toFixed(1)})`); continue; }
      if (Math.min(f.width, f.height) < MIN_SHORT_SIDE) { reject(`too small (${f.width}x${f.height})`); continue; }
      const sha256 = sha256File(c.abs);
      const dup = seenSha.get(sha256);
      if (dup) { reject(`identical to ${dup}`); continue; }
      seenSha.set(sha256, `${src.package}:${c.rel}`);

      const sourcePath = sourcePathOf(src, c.rel);
      const lic = licenseFor(cr, sourcePath);
      const groupName = (src.groupRules ?? []).reduce((n, [re, rep]) => n.replace(new RegExp(re), rep), c.name);
      accepted.push({
        key: `${src.package}:${groupName}`,
        img: {
          package: src.package, version: info.version, path: c.rel, sourcePath,
          license: lic?.license ?? 'UNKNOWN (free-text debian/copyright)', copyright: lic?.copyright ?? '',
          licensePattern: lic?.pattern ?? null, sha256, bytes: statSync(c.abs).size,
          width: f.width, height: f.height, format: f.format,
          verdictSource: src.review?.[c.name] ? 'review' : src.defaultVerdict ? 'package-review' : 'heuristic',
          heuristicPhoto: heur, flatFraction: Number(f.flatFraction.toFixed(4)), chroma: Number(f.chroma.toFixed(2)), dhash: f.dhash,
        },
      });
    }
  }
  const groups = assignGroups(accepted.map((a) => ({ key: a.key, sha256: a.img.sha256, dhash: a.img.dhash })));
  manifest.images = accepted.map((a, i) => ({ ...a.img, group: groups[i]! }));
  return manifest;
}

export interface TileRecord { file: string; split: string; source: string; package: string; path: string;
  scale: number; x: number; y: number; size: number;
  /** Standard deviation of the tile's grey level (0–255): lets a loader skip flat sky/bokeh tiles. */
  std: number }

function tileStd(data: Buffer, width: number, channels: number, x: number, y: number, size: number): number {
  let s = 0, s2 = 0;
  for (let r = y; r < y + size; r++) {
    for (let c = x; c < x + size; c++) {
      const i = (r * width + c) * channels;
      const g = (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
      s += g; s2 += g * g;
    }
  }
  const n = size * size, mean = s / n;
  return Math.sqrt(Math.max(0, s2 / n - mean * mean));
}

/** Non-overlapping, centred size² tiles of each image after an antialiased downscale to ≤ maxShort. */
export async function writeTiles(manifest: Manifest, cache: string, outDir: string, size: number, maxShort: number): Promise<TileRecord[]> {
  for (const s of ['train', 'test']) { rmSync(join(outDir, s), { recursive: true, force: true }); mkdirSync(join(outDir, s), { recursive: true }); }
  const perImage = await mapLimit(manifest.images, 2, async (im) => {
    const split = splitOf(im.group, SPLIT_VERSION, TEST_FRACTION);
    const scale = Math.min(1, maxShort / Math.min(im.width, im.height));
    const w = Math.round(im.width * scale), h = Math.round(im.height * scale);
    const base = sharp(join(cache, 'root', im.package, im.path), { limitInputPixels: false }).rotate()
      .removeAlpha().toColourspace('srgb');
    const resized = await (scale < 1 ? base.resize(w, h, { kernel: 'lanczos3' }) : base).raw().toBuffer({ resolveWithObject: true });
    const cols = Math.floor(w / size), rows = Math.floor(h / size);
    const x0 = Math.floor((w - cols * size) / 2), y0 = Math.floor((h - rows * size) / 2);
    const recs: TileRecord[] = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const x = x0 + c * size, y = y0 + r * size;
        const file = `${split}/${im.sha256.slice(0, 16)}_r${r}c${c}.png`;
        const png = await sharp(resized.data, { raw: { width: resized.info.width, height: resized.info.height, channels: resized.info.channels } })
          .extract({ left: x, top: y, width: size, height: size }).png({ compressionLevel: 6 }).toBuffer();
        // Provenance travels inside the tile too, so a tile copied elsewhere stays traceable.
        writeFileSync(join(outDir, file), addPngText(png, { Source: `${im.package} ${im.version} /${im.path}`,
          SourceSha256: im.sha256, License: im.license, Crop: `scale=${scale.toFixed(6)} x=${x} y=${y} size=${size}` }));
        const std = tileStd(resized.data, resized.info.width, resized.info.channels, x, y, size);
        recs.push({ file, split, source: im.sha256, package: im.package, path: im.path, scale: Number(scale.toFixed(6)), x, y, size,
          std: Number(std.toFixed(2)) });
      }
    }
    return recs;
  });
  return perImage.flat();
}

/** Attribution list (CC-BY / BY-SA require it): one line per package, licence and copyright holder. */
export function credits(manifest: Manifest): string {
  const rows = new Map<string, string[]>();
  for (const im of manifest.images) {
    const k = `| ${im.package} ${im.version} | ${im.license} | ${im.copyright.replace(/\|/g, '/') || '—'} |`;
    rows.set(k, [...(rows.get(k) ?? []), im.path.split('/').pop()!]);
  }
  const lines = ['# Credits for data/manifest.json (generated by scripts/data/assemble.ts)', '',
    'Licences and copyright holders as stated in each package\'s debian/copyright.', '',
    '| package | licence | copyright | files |', '|---|---|---|---|'];
  for (const [k, files] of rows) {
    const shown = files.length > 6 ? `${files.slice(0, 6).join(', ')}, … (${files.length})` : files.join(', ');
    lines.push(`${k} ${shown} |`);
  }
  return lines.join('\n') + '\n';
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

async function main() {
  const cache = arg('--cache', 'data/cache'), out = arg('--out', 'data');
  const t0 = Date.now();
  const manifest = await buildManifest(cache);
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  const split = computeTestSplit(manifest.images, SPLIT_VERSION, TEST_FRACTION);
  writeFileSync(join(out, 'test_split.json'), JSON.stringify(split, null, 1) + '\n');
  writeFileSync(join(out, 'CREDITS.md'), credits(manifest));

  const byPkg = new Map<string, { n: number; bytes: number }>();
  for (const im of manifest.images) { const e = byPkg.get(im.package) ?? { n: 0, bytes: 0 }; e.n++; e.bytes += im.bytes; byPkg.set(im.package, e); }
  for (const [p, e] of byPkg) console.log(`${p.padEnd(30)} ${String(e.n).padStart(4)} photos ${(e.bytes / 1e6).toFixed(1).padStart(7)} MB`);
  const licences = new Map<string, number>();
  for (const im of manifest.images) licences.set(im.license, (licences.get(im.license) ?? 0) + 1);
  console.log('licences:', Object.fromEntries(licences));
  const groups = new Set(manifest.images.map((i) => i.group));
  console.log(`photos ${manifest.images.length} in ${groups.size} groups; test ${split.images.length} images / ${split.groups.length} groups; `
    + `train ${manifest.images.length - split.images.length}; rejected ${manifest.rejected.length}; `
    + `heuristic agrees with review on ${manifest.heuristic.agree}/${manifest.heuristic.reviewed}`);

  if (process.argv.includes('--tiles')) {
    const size = Number(arg('--tile-size', '256')), maxShort = Number(arg('--max-short-side', '1024'));
    const tiles = await writeTiles(manifest, cache, join(out, 'photos'), size, maxShort);
    writeFileSync(join(out, 'photos', 'tiles.json'), JSON.stringify(tiles) + '\n');
    const nTest = tiles.filter((t) => t.split === 'test').length;
    const flat = tiles.filter((t) => t.std < 8).length;
    console.log(`tiles ${tiles.length}: train ${tiles.length - nTest}, test ${nTest} (${size}², short side ≤ ${maxShort}); `
      + `${flat} nearly flat (grey std < 8)`);
  }
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
