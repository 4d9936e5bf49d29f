// WebDataset-style tar shards: members grouped by key (path up to the first dot of the basename);
// `.jpg/.jpeg/.png/.webp` is the image, `.json` an optional sidecar. Images are read by byte range.
import { DataSourceError } from '../errors.js';
import { readTarIndex, readTarMember, splitKey, type TarMember } from './tar.js';
import { checkIndex, SkipLog, type DataSource, type SkippedItem, type SourceItem } from './types.js';

const IMAGE_EXTS = ['jpg', 'jpeg', 'png', 'webp'];

interface Entry { shard: string; key: string; image: TarMember; json?: TarMember }

export class TarShardSource implements DataSource {
  readonly name: string;
  private readonly entries: Entry[] = [];
  private readonly log = new SkipLog();

  /** Lists every shard (in the order given). Members without an image are skipped and reported. */
  constructor(readonly shards: string[]) {
    if (!shards.length) throw new DataSourceError('tar', 'no shard files given');
    this.name = shards.length === 1 ? `tar:${shards[0]}` : `tar:${shards[0]} (+${shards.length - 1})`;
    for (const shard of shards) {
      const { members, problems } = readTarIndex(shard);
      for (const p of problems) this.log.add({ name: shard, reason: p });
      const groups = new Map<string, Map<string, TarMember>>();
      for (const m of members) {
        if (m.type !== '0' && m.type !== '\0' && m.type !== '7') continue;
        const kx = splitKey(m.name);
        if (!kx) continue;
        let g = groups.get(kx[0]);
        if (!g) groups.set(kx[0], (g = new Map()));
        g.set(kx[1], m);
      }
      for (const [key, g] of groups) {
        const ext = IMAGE_EXTS.find((e) => g.has(e));
        if (!ext) { this.log.add({ name: `${shard}:${key}`, reason: `no image member (.${IMAGE_EXTS.join('/.')}); has .${[...g.keys()].join(', .')}` }); continue; }
        this.entries.push({ shard, key, image: g.get(ext)!, json: g.get('json') });
      }
    }
  }

  get length(): number { return this.entries.length; }
  get skipped(): SkippedItem[] { return this.log.list; }
  reportSkip(s: SkippedItem): void { this.log.add(s); }

  item(i: number): SourceItem {
    checkIndex(this, i);
    const e = this.entries[i];
    const out: SourceItem = { key: e.key, image: { path: e.shard, offset: e.image.offset, length: e.image.size, name: `${e.shard}:${e.image.name}` } };
    if (e.json) {
      const text = readTarMember(e.shard, e.json).toString('utf8');
      try { out.json = JSON.parse(text); } catch (err) { throw new DataSourceError(`${e.shard}:${e.json.name}`, `bad JSON: ${(err as Error).message}`); }
    }
    return out;
  }
}
