// The text clean-up CLIP's tokenizer runs before BPE: basic_clean (ftfy.fix_text, html.unescape twice, strip) and
// whitespace_clean. ftfy is a Python library; fixText below is the part of ftfy.fix_text (6.x, default config) that
// ordinary prompts meet: HTML entities, C1 controls, Latin ligatures, full/half-width forms, curly quotes, line breaks,
// terminal escapes, control characters and NFC, repeated to a fixed point as ftfy does. Not done: ftfy's mojibake
// repair (fix_encoding: text that was decoded with the wrong codec, e.g. 'cafÃ©'), its all-caps entity variants
// ('&EACUTE;'), and HTML5 named entities outside the table below (Latin-1 and common punctuation). Prompts typed as
// Unicode are unaffected by those.

/** Windows-1252 for 0x80–0x9F (where it differs from Latin-1), as Python's html.unescape and ftfy use it. */
const CP1252: Record<number, string> = {
  0x80: '\u20ac', 0x82: '\u201a', 0x83: '\u0192', 0x84: '\u201e', 0x85: '\u2026', 0x86: '\u2020', 0x87: '\u2021', 0x88: '\u02c6',
  0x89: '\u2030', 0x8a: '\u0160', 0x8b: '\u2039', 0x8c: '\u0152', 0x8e: '\u017d', 0x91: '\u2018', 0x92: '\u2019', 0x93: '\u201c',
  0x94: '\u201d', 0x95: '\u2022', 0x96: '\u2013', 0x97: '\u2014', 0x98: '\u02dc', 0x99: '\u2122', 0x9a: '\u0161', 0x9b: '\u203a',
  0x9c: '\u0153', 0x9e: '\u017e', 0x9f: '\u0178',
};

// HTML 4's Latin-1 entities, U+00A0..U+00FF in order: HTML5 also accepts these without the ';'.
const LATIN1 = ('nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro para '
  + 'middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc '
  + 'Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig '
  + 'agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc '
  + 'otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml').split(' ');
/** Entities valid without ';' (HTML5's legacy list). */
const LEGACY = new Map<string, string>([
  ['amp', '&'], ['AMP', '&'], ['lt', '<'], ['LT', '<'], ['gt', '>'], ['GT', '>'], ['quot', '"'], ['QUOT', '"'], ['COPY', '\u00a9'], ['REG', '\u00ae'],
  ...LATIN1.map((n, i) => [n, String.fromCodePoint(0xa0 + i)] as [string, string]),
]);
/** Entities that need the ';': common punctuation and symbols. */
const NAMED = new Map<string, string>([
  ...LEGACY,
  ['apos', "'"], ['hellip', '\u2026'], ['mdash', '\u2014'], ['ndash', '\u2013'], ['lsquo', '\u2018'], ['rsquo', '\u2019'], ['sbquo', '\u201a'],
  ['ldquo', '\u201c'], ['rdquo', '\u201d'], ['bdquo', '\u201e'], ['bull', '\u2022'], ['trade', '\u2122'], ['euro', '\u20ac'], ['dagger', '\u2020'],
  ['Dagger', '\u2021'], ['permil', '\u2030'], ['lsaquo', '\u2039'], ['rsaquo', '\u203a'], ['prime', '\u2032'], ['Prime', '\u2033'],
  ['larr', '\u2190'], ['rarr', '\u2192'], ['uarr', '\u2191'], ['darr', '\u2193'], ['harr', '\u2194'], ['hearts', '\u2665'], ['spades', '\u2660'],
  ['clubs', '\u2663'], ['diams', '\u2666'], ['infin', '\u221e'], ['ne', '\u2260'], ['le', '\u2264'], ['ge', '\u2265'], ['minus', '\u2212'],
  ['ensp', '\u2002'], ['emsp', '\u2003'], ['thinsp', '\u2009'], ['zwnj', '\u200c'], ['zwj', '\u200d'], ['OElig', '\u0152'], ['oelig', '\u0153'],
  ['Scaron', '\u0160'], ['scaron', '\u0161'], ['Yuml', '\u0178'], ['fnof', '\u0192'], ['circ', '\u02c6'], ['tilde', '\u02dc'], ['check', '\u2713'],
  ['star', '\u2606'], ['starf', '\u2605'],
]);

function numericRef(num: number): string {
  if (num === 0) return '\ufffd';
  if (num === 0x0d) return '\r';
  if (num >= 0x80 && num <= 0x9f) return CP1252[num] ?? String.fromCharCode(num);
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  const invalid = (num >= 0x1 && num <= 0x8) || num === 0xb || (num >= 0xe && num <= 0x1f) || num === 0x7f
    || (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) === 0xfffe;
  return invalid ? '' : String.fromCodePoint(num);
}

/** Python's html.unescape: numeric references and named entities (longest legacy prefix when ';' is missing). */
export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu, (m, body: string) => {
    if (body[0] === '#') {
      const hex = body[1] === 'x' || body[1] === 'X';
      const digits = body.slice(hex ? 2 : 1).replace(/;$/, '');
      return numericRef(parseInt(digits, hex ? 16 : 10));
    }
    if (body.endsWith(';') && NAMED.has(body.slice(0, -1))) return NAMED.get(body.slice(0, -1))!;
    const cps = [...body];
    for (let x = cps.length - (body.endsWith(';') ? 1 : 0); x > 1; x--) {
      const name = cps.slice(0, x).join('');
      if (LEGACY.has(name)) return LEGACY.get(name)! + cps.slice(x).join('');
    }
    return m;
  });
}

/** ftfy's unescape_html: only entities closed by ';', numeric ones only when wholly decoded. */
function ftfyUnescape(s: string): string {
  return s.replace(/&#?[0-9A-Za-z]{1,24};/g, (m) => {
    if (m[1] !== '#') return NAMED.get(m.slice(1, -1)) ?? m;
    const u = htmlUnescape(m);
    return u.includes(';') ? m : u;
  });
}

const LIGATURES: Record<string, string> = {
  'Ĳ': 'IJ', 'ĳ': 'ij', 'ŉ': 'ʼn', 'Ǳ': 'DZ', 'ǲ': 'Dz', 'ǳ': 'dz', 'Ǆ': 'DŽ', 'ǅ': 'Dž', 'ǆ': 'dž', 'Ǉ': 'LJ', 'ǈ': 'Lj', 'ǉ': 'lj',
  'Ǌ': 'NJ', 'ǋ': 'Nj', 'ǌ': 'nj', 'ﬀ': 'ff', 'ﬁ': 'fi', 'ﬂ': 'fl', 'ﬃ': 'ffi', 'ﬄ': 'ffl', 'ﬅ': 'ſt', 'ﬆ': 'st',
};
const LIGATURE_RE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'gu');

let widthMap: Map<string, string> | null = null;
/** ftfy's width map: U+3000 → space, and each of U+FF01..U+FFEF whose NFKC form differs → that form. */
function fixCharacterWidth(s: string): string {
  if (!/[\u3000\uff01-\uffef]/.test(s)) return s;
  if (!widthMap) {
    widthMap = new Map([['\u3000', ' ']]);
    for (let c = 0xff01; c < 0xfff0; c++) {
      const ch = String.fromCharCode(c), alt = ch.normalize('NFKC');
      if (alt !== ch) widthMap.set(ch, alt);
    }
  }
  return s.replace(/[\u3000\uff01-\uffef]/g, (ch) => widthMap!.get(ch) ?? ch);
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
// eslint-disable-next-line no-control-regex
const TERMINAL_ESCAPE_RE = /\x1b\[((?:\d|;)*)([a-zA-Z])/g;

function fixSegment(segment: string, unescape: boolean): string {
  let text = segment;
  for (;;) {
    const orig = text;
    if (unescape) text = ftfyUnescape(text);
    text = text.replace(/[\x80-\x9f]/g, (c) => CP1252[c.charCodeAt(0)] ?? c); // fix_c1_controls
    text = text.replace(LIGATURE_RE, (c) => LIGATURES[c]);
    text = fixCharacterWidth(text);
    text = text.replace(/[\u201c-\u201f]/g, '"').replace(/[\u02bc\u2018-\u201b]/g, "'"); // uncurl_quotes
    text = text.replace(/\r\n|[\r\u2028\u2029\u0085]/g, '\n'); // fix_line_breaks
    text = text.replace(TERMINAL_ESCAPE_RE, '').replace(CONTROL_RE, '');
    text = text.normalize('NFC');
    if (text === orig) return text;
  }
}

/**
 * The subset of ftfy.fix_text described at the top of this file. Like ftfy it works line by line, and stops
 * decoding HTML entities from the first line that contains '<' on (that text may be HTML, where '&lt;' is meant).
 */
export function fixText(text: string): string {
  let unescape = true;
  const out: string[] = [];
  for (const segment of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    if (segment.includes('<')) unescape = false;
    out.push(fixSegment(segment, unescape));
  }
  return out.join('');
}

/** The reference's basic_clean + whitespace_clean + lower(): what the BPE regex then splits. */
export function cleanText(text: string): string {
  const basic = htmlUnescape(htmlUnescape(fixText(text))).trim();
  return basic.replace(/\s+/gu, ' ').trim().toLowerCase();
}
