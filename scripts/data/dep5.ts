// Minimal reader for machine-readable debian/copyright files (DEP-5, copyright-format 1.0):
// which `Files:` paragraph covers a given source path, and with which License / Copyright.

export interface FilesParagraph {
  patterns: string[];
  copyright: string;
  license: string; // the first line of the License field: the short name (e.g. "CC-BY-SA-4.0")
  comment?: string;
}

export interface CopyrightInfo {
  machineReadable: boolean;
  files: FilesParagraph[];
}

export interface LicenseMatch {
  license: string;
  copyright: string;
  /** The matching `Files:` pattern, or null when the file is not DEP-5. */
  pattern: string | null;
  comment?: string;
}

/** Splits a control-style text into paragraphs of fields; continuation lines are joined with '\n'. */
function paragraphs(text: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  let cur: Record<string, string> = {};
  let last: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*$/.test(line)) {
      if (Object.keys(cur).length) out.push(cur);
      cur = {}; last = null;
      continue;
    }
    if (/^\s/.test(line)) {
      if (last) cur[last] += '\n' + line.trim();
      continue;
    }
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (m) { last = m[1]!; cur[last] = m[2]!; }
  }
  if (Object.keys(cur).length) out.push(cur);
  return out;
}

export function parseCopyright(text: string): CopyrightInfo {
  const paras = paragraphs(text);
  const machineReadable = /^Format:\s*\S*copyright-format/m.test(text);
  const files: FilesParagraph[] = [];
  for (const p of paras) {
    if (p.Files === undefined || p.License === undefined) continue;
    files.push({
      patterns: p.Files.split(/\s+/).filter(Boolean),
      copyright: (p.Copyright ?? '').replace(/\n/g, '; '),
      license: p.License.split('\n')[0]!.trim(),
      ...(p.Comment ? { comment: p.Comment.replace(/\n/g, ' ') } : {}),
    });
  }
  return { machineReadable, files };
}

/** DEP-5 glob → RegExp: `*` matches any run of characters including '/', `?` exactly one, `\` escapes. */
export function dep5PatternToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The paragraph covering `sourcePath` (a path relative to the source tree): per DEP-5 the *last*
 * matching paragraph wins. Returns null when no paragraph matches or the file is not DEP-5.
 */
export function licenseFor(info: CopyrightInfo, sourcePath: string): LicenseMatch | null {
  if (!info.machineReadable) return null;
  let best: LicenseMatch | null = null;
  for (const para of info.files) {
    const hit = para.patterns.find((p) => dep5PatternToRegExp(p).test(sourcePath));
    if (hit !== undefined) {
      best = { license: para.license, copyright: para.copyright, pattern: hit, ...(para.comment ? { comment: para.comment } : {}) };
    }
  }
  return best;
}
