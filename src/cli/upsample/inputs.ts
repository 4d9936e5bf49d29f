// What `fmboost upsample` reads: files, folders (sorted; --recursive descends and keeps the sub-folder under the
// output folder), and `-` for one image on stdin. Missing paths stay in the list, to be reported per input.
import { readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { IMAGE_EXTENSIONS } from '../../data/index.js';

export const LATENT_EXTENSIONS = ['.npy', '.safetensors'] as const;

export interface InputItem {
  /** File path, or '-' for stdin. */
  path: string;
  /** The folder under the given input folder that holds it ('' for files given directly), mirrored in the output. */
  dir: string;
  kind: 'image' | 'latent';
}

const isImage = (n: string) => (IMAGE_EXTENSIONS as readonly string[]).includes(extname(n).toLowerCase());
const isLatent = (n: string) => (LATENT_EXTENSIONS as readonly string[]).includes(extname(n).toLowerCase());

function walk(root: string, dir: string, recursive: boolean, out: InputItem[], depth: number): void {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      // symlinked folders are not followed (no cycles); depth bounds a pathological tree
      if (recursive && depth < 64) walk(root, p, recursive, out, depth + 1);
    } else if (e.isFile() && (isImage(e.name) || isLatent(e.name))) {
      out.push({ path: p, dir: relative(root, dir), kind: isLatent(e.name) ? 'latent' : 'image' });
    }
  }
}

/** Expands folders to their image and latent files (sorted; sub-folders with `recursive`). */
export function expandInputs(inputs: string[], o: { recursive?: boolean } = {}): InputItem[] {
  const out: InputItem[] = [];
  for (const p of inputs) {
    if (p === '-') { out.push({ path: '-', dir: '', kind: 'image' }); continue; }
    let st;
    try {
      st = statSync(p);
    } catch {
      out.push({ path: p, dir: '', kind: isLatent(p) ? 'latent' : 'image' });
      continue;
    }
    if (st.isDirectory()) walk(p, p, Boolean(o.recursive), out, 0);
    else out.push({ path: p, dir: '', kind: isLatent(p) ? 'latent' : 'image' });
  }
  return out;
}
