// snake_case ↔ camelCase for config keys: the reference (and our YAML) spells them in_channels, the model
// constructors inChannels.

export const snakeToCamel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
export const camelToSnake = (k: string): string => k.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);

/**
 * A copy with camelCase keys. `keep` filters entries first; with `onDuplicate` a key given in both spellings is an
 * error (its message), otherwise the later spelling wins.
 */
export function camelKeys(o: Record<string, unknown>, opts: { keep?: (k: string, v: unknown) => boolean; onDuplicate?: (k: string) => Error } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (opts.keep && !opts.keep(k, v)) continue;
    const c = snakeToCamel(k);
    if (opts.onDuplicate && c in out) throw opts.onDuplicate(k);
    out[c] = v;
  }
  return out;
}
