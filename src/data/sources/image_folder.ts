// A folder of images (recursive; .jpg/.jpeg/.png/.webp), in stable sorted order. Files that cannot be
// read are skipped and listed with a reason; nothing here is fatal except a missing root folder.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DataSourceError, ImageDecodeError } from '../errors.js';
import { decodeImageU8, IMAGE_EXTENSIONS, probeImage } from '../image_codec.js';
import { checkIndex, SkipLog, type DataSource, type SkippedItem, type SourceItem } from './types.js';

export interface ImageFolderOptions {
  /** 'none': list by extension only; 'header' (default): read each header (bad headers and
   *  over-size images are skipped); 'full': decode every image (also catches truncated files). */
  validate?: 'none' | 'header' | 'full';
  maxPixels?: number;
}

function listImages(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() || e.isSymbolicLink()) {
        const lower = e.name.toLowerCase();
        if (IMAGE_EXTENSIONS.some((x) => lower.endsWith(x))) out.push(p);
      }
    }
  };
  walk(root);
  // Sort by the relative path with '/' separators, by code point: the same order on every machine.
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  return out.sort((a, b) => (rel(a) < rel(b) ? -1 : rel(a) > rel(b) ? 1 : 0));
}

export class ImageFolderSource implements DataSource {
  readonly name: string;
  private readonly log = new SkipLog();
  private constructor(readonly root: string, readonly files: string[]) {
    this.name = `folder:${root}`;
  }

  static async open(root: string, opts: ImageFolderOptions = {}): Promise<ImageFolderSource> {
    let st;
    try { st = statSync(root); } catch (e) { throw new DataSourceError(root, `cannot read folder: ${(e as Error).message}`); }
    if (!st.isDirectory()) throw new DataSourceError(root, 'not a directory');
    const all = listImages(root);
    const validate = opts.validate ?? 'header';
    // check files a few at a time (libvips decodes on its own threads); keep the sorted order
    const ok = new Array<boolean>(all.length).fill(true);
    const bad: SkippedItem[] = [];
    let next = 0;
    const workerLoop = async () => {
      while (next < all.length) {
        const i = next++;
        try {
          if (validate === 'header') await probeImage(all[i], { maxPixels: opts.maxPixels });
          else if (validate === 'full') await decodeImageU8(all[i], { maxPixels: opts.maxPixels });
        } catch (e) {
          if (!(e instanceof ImageDecodeError)) throw e;
          ok[i] = false;
          bad.push({ name: all[i], reason: e.reason });
        }
      }
    };
    if (validate !== 'none') await Promise.all(Array.from({ length: Math.min(4, all.length) }, workerLoop));
    const good = all.filter((_, i) => ok[i]);
    bad.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const src = new ImageFolderSource(root, good);
    for (const b of bad) src.log.add(b);
    return src;
  }

  get length(): number { return this.files.length; }
  get skipped(): SkippedItem[] { return this.log.list; }
  reportSkip(s: SkippedItem): void { this.log.add(s); }

  item(i: number): SourceItem {
    checkIndex(this, i);
    const f = this.files[i];
    const rel = relative(this.root, f).split(sep).join('/');
    return { key: rel.slice(0, rel.lastIndexOf('.')), image: { path: f, name: f } };
  }
}
