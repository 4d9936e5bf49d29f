// Deterministic train/test split by *source group*: every file that shows the same scene (sizes,
// variants, stereo pairs, near-duplicates) shares one group key, and a group's split depends only
// on its key, so an image and all its crops always land in the same split.
// Pure (node:crypto only): the manifest test recomputes the split with this very function.
import { createHash } from 'node:crypto';

export type Split = 'train' | 'test';

/** Position of a group in [0, 1): the first 32 bits of sha256(version NUL key). */
export function splitScore(groupKey: string, version: string): number {
  const h = createHash('sha256').update(version).update('\0').update(groupKey).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

export function splitOf(groupKey: string, version: string, testFraction: number): Split {
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  return splitScore(groupKey, version) < testFraction ? 'test' : 'train';
}

export interface SplitInput { sha256: string; group: string }

export interface TestSplitFile {
  version: string;
  testFraction: number;
  /** Group keys in the test split, sorted. */
  groups: string[];
  /** sha256 of every test image, sorted. */
  images: string[];
}

/** The test split of a manifest, in the canonical (sorted) form stored in data/test_split.json. */
export function computeTestSplit(images: SplitInput[], version: string, testFraction: number): TestSplitFile {
  const groups = new Set<string>();
  const shas: string[] = [];
  for (const im of images) {
    if (splitOf(im.group, version, testFraction) === 'test') { groups.add(im.group); shas.push(im.sha256); }
  }
  return { version, testFraction, groups: [...groups].sort(), images: shas.sort() };
}
