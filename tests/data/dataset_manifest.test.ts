// Validates the committed photo-set files (data/manifest.json, data/test_split.json) without the
// downloaded images: provenance fields, licence coverage, group/split invariants, and that the
// versioned test split is exactly what the split function gives for the manifest.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { Manifest } from '../../scripts/data/assemble.js';
import { dep5PatternToRegExp, licenseFor, parseCopyright } from '../../scripts/data/dep5.js';
import { MIN_SHORT_SIDE, SOURCES, SPLIT_VERSION, TEST_FRACTION } from '../../scripts/data/sources.js';
import { computeTestSplit, splitOf, splitScore, type TestSplitFile } from '../../scripts/data/split.js';

// Repository root, found from dist/tests/data (no dependency on the native addon).
const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!d.endsWith('/dist') && d !== '/') d = dirname(d);
  return d === '/' ? process.cwd() : dirname(d);
})();
const manifest = JSON.parse(readFileSync(join(ROOT, 'data', 'manifest.json'), 'utf8')) as Manifest;
const testSplit = JSON.parse(readFileSync(join(ROOT, 'data', 'test_split.json'), 'utf8')) as TestSplitFile;

describe('data/manifest.json', () => {
  it('has one package entry per configured source, with a version and the .deb checksum', () => {
    assert.deepEqual(manifest.packages.map((p) => p.package), SOURCES.map((s) => s.package));
    for (const p of manifest.packages) {
      assert.match(p.version, /^\S+$/, p.package);
      assert.match(p.debSha256, /^[0-9a-f]{64}$/, p.package);
      assert.ok(p.deb.startsWith(`${p.package}_`) && p.deb.endsWith('.deb'), p.deb);
      assert.ok(p.debBytes > 0);
    }
  });

  it('records package, version, path, licence, sha256 and size of every image', () => {
    assert.ok(manifest.images.length >= 300, `only ${manifest.images.length} photos`);
    const versions = new Map(manifest.packages.map((p) => [p.package, p.version]));
    for (const im of manifest.images) {
      const where = `${im.package}:${im.path}`;
      assert.equal(im.version, versions.get(im.package), where);
      assert.ok(im.path.length > 0 && !im.path.startsWith('/'), where);
      assert.match(im.sha256, /^[0-9a-f]{64}$/, where);
      assert.ok(im.bytes > 0, where);
      assert.ok(Math.min(im.width, im.height) >= MIN_SHORT_SIDE, `${where} is ${im.width}x${im.height}`);
      // Every licence comes from a DEP-5 Files paragraph that matched the file's source path.
      assert.ok(im.license.length > 0 && !im.license.startsWith('UNKNOWN'), `${where}: ${im.license}`);
      assert.ok(im.licensePattern !== null && dep5PatternToRegExp(im.licensePattern).test(im.sourcePath),
        `${where}: pattern ${im.licensePattern} does not cover ${im.sourcePath}`);
    }
  });

  it('holds each file once and each content once', () => {
    const keys = new Set(manifest.images.map((i) => `${i.package}:${i.path}`));
    const shas = new Set(manifest.images.map((i) => i.sha256));
    assert.equal(keys.size, manifest.images.length);
    assert.equal(shas.size, manifest.images.length);
  });

  it('names each group by the smallest sha256 among its members', () => {
    const members = new Map<string, string[]>();
    for (const im of manifest.images) members.set(im.group, [...(members.get(im.group) ?? []), im.sha256]);
    for (const [g, shas] of members) assert.equal(g, shas.sort()[0], `group ${g}`);
  });

  it('lists no rejected file among the images', () => {
    const kept = new Set(manifest.images.map((i) => `${i.package}:${i.path}`));
    for (const r of manifest.rejected) {
      assert.ok(!kept.has(`${r.package}:${r.path}`), `${r.path} is both kept and rejected`);
      assert.ok(r.reason.length > 0);
    }
  });
});

describe('data/test_split.json', () => {
  it('equals the split recomputed from the manifest', () => {
    assert.equal(testSplit.version, SPLIT_VERSION);
    assert.equal(testSplit.testFraction, TEST_FRACTION);
    assert.deepEqual(computeTestSplit(manifest.images, SPLIT_VERSION, TEST_FRACTION), testSplit);
  });

  it('keeps every group wholly in one split (train and test are disjoint by source)', () => {
    const testImages = new Set(testSplit.images);
    const testGroups = new Set(testSplit.groups);
    const seen = new Map<string, boolean>();
    for (const im of manifest.images) {
      const inTest = testImages.has(im.sha256);
      assert.equal(inTest, testGroups.has(im.group), im.path);
      if (seen.has(im.group)) assert.equal(seen.get(im.group), inTest, `group ${im.group} is split`);
      seen.set(im.group, inTest);
    }
    // Every listed test image exists in the manifest.
    const all = new Set(manifest.images.map((i) => i.sha256));
    for (const s of testSplit.images) assert.ok(all.has(s), s);
  });

  it('holds 10–15% of the images and at least 30', () => {
    const n = testSplit.images.length, frac = n / manifest.images.length;
    assert.ok(n >= 30, `test split has ${n} images`);
    assert.ok(frac >= 0.08 && frac <= 0.18, `test fraction ${frac}`);
  });
});

describe('split function', () => {
  it('is a deterministic function of (key, version) with scores in [0, 1)', () => {
    const s = splitScore('abc', SPLIT_VERSION);
    assert.ok(s >= 0 && s < 1);
    assert.equal(splitScore('abc', SPLIT_VERSION), s);
    assert.notEqual(splitScore('abd', SPLIT_VERSION), s);
    assert.notEqual(splitScore('abc', 'other-version'), s);
    // splitOf is the thresholded score.
    assert.equal(splitOf('k', 'v', 0.5), splitScore('k', 'v') < 0.5 ? 'test' : 'train');
  });

  it('puts about testFraction of many keys in the test split', () => {
    let t = 0;
    for (let i = 0; i < 4000; i++) if (splitOf(`key-${i}`, 'v', 0.12) === 'test') t++;
    assert.ok(Math.abs(t / 4000 - 0.12) < 0.02, `fraction ${t / 4000}`);
  });

  it('rejects a fraction outside (0, 1)', () => {
    assert.throws(() => splitOf('k', 'v', 0), RangeError);
    assert.throws(() => splitOf('k', 'v', 1), RangeError);
  });
});

describe('DEP-5 reader', () => {
  const text = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: x',
    '',
    'Files: *',
    'Copyright: A',
    'License: GPL-3+',
    '',
    'Files: images/*',
    'Copyright: B',
    'License: CC-BY-SA-4.0',
    '',
    'Files:',
    ' images/land/bw*',
    ' images/land/a?c.jpg',
    'Copyright: C',
    'License: public-domain',
    ' long text',
    '',
    'License: GPL-3+',
    ' text of the licence',
  ].join('\n');
  const info = parseCopyright(text);

  it('parses Files paragraphs (multi-line patterns) and skips stand-alone License paragraphs', () => {
    assert.ok(info.machineReadable);
    assert.equal(info.files.length, 3);
    assert.deepEqual(info.files[2]!.patterns, ['images/land/bw*', 'images/land/a?c.jpg']);
    assert.equal(info.files[2]!.license, 'public-domain');
  });

  it('uses the last matching paragraph; `*` crosses "/", `?` is one character', () => {
    assert.equal(licenseFor(info, 'src/main.c')!.license, 'GPL-3+');
    assert.equal(licenseFor(info, 'images/land/deep/x.jpg')!.license, 'CC-BY-SA-4.0');
    assert.equal(licenseFor(info, 'images/land/bwerner1.jpg')!.license, 'public-domain');
    assert.equal(licenseFor(info, 'images/land/abc.jpg')!.license, 'public-domain');
    assert.equal(licenseFor(info, 'images/land/abbc.jpg')!.license, 'CC-BY-SA-4.0');
    assert.equal(licenseFor(info, 'images/land/abc.jpg')!.pattern, 'images/land/a?c.jpg');
  });

  it('gives no licence for a free-text copyright file', () => {
    assert.equal(licenseFor(parseCopyright('This package was debianized by someone.\n'), 'a.jpg'), null);
  });
});
