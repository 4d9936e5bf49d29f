// CLIP's byte-level BPE tokenizer (openai/CLIP clip/simple_tokenizer.py; HF CLIPTokenizer reads the same files):
// clean the text, split it with the reference's regex, map each UTF-8 byte to a printable character, merge pairs by
// rank with '</w>' marking a word's end, and look the pieces up in the vocabulary.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanText } from './text_clean.js';

export const BOS_TOKEN = '<|startoftext|>';
export const EOS_TOKEN = '<|endoftext|>';

/** Vocabulary or merges files missing or malformed, or a piece the vocabulary lacks; the message names the file. */
export class CLIPTokenizerError extends Error {
  override name = 'CLIPTokenizerError';
}

// The reference's pattern: special tokens, contractions, letter runs, single digits, other non-space runs.
const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/** bytes_to_unicode: each byte → one printable character (printable Latin-1 bytes map to themselves). */
export function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) if (printable(b)) table[b] = String.fromCharCode(b);
  for (let b = 0; b < 256; b++) if (!printable(b)) table[b] = String.fromCharCode(256 + n++);
  return table;
}

export interface CLIPTokenizeOptions {
  /** Row length (default 77, CLIP's context). */
  maxLength?: number;
}

export class CLIPTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  /** SD1.5's tokenizer pads with <|endoftext|>. */
  readonly padId: number;
  private readonly byteEncoder = bytesToUnicode();
  private readonly byteDecoder: Map<string, number>;
  private readonly decoder: Map<number, string>;
  /** "first second" → rank (lower merges first). */
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();

  /**
   * vocab: token → id (vocab.json); merges: pairs in rank order (merges.txt without its '#version' line).
   * `source` names where they came from, for error messages.
   */
  constructor(readonly vocab: ReadonlyMap<string, number>, merges: readonly (readonly [string, string])[], readonly source = 'vocabulary') {
    const need = (tok: string) => {
      const id = vocab.get(tok);
      if (id === undefined) throw new CLIPTokenizerError(`CLIPTokenizer: ${source} has no '${tok}' token`);
      return id;
    };
    this.bosId = need(BOS_TOKEN);
    this.eosId = need(EOS_TOKEN);
    this.padId = this.eosId;
    // Every byte (alone and word-final) must be a token, or some text could not be encoded at all.
    for (const ch of this.byteEncoder) { need(ch); need(ch + '</w>'); }
    this.ranks = new Map();
    merges.forEach(([a, b], i) => {
      need(a + b);
      const key = `${a} ${b}`;
      this.ranks.set(key, i); // a repeated merge takes its last rank, as the reference's dict does
    });
    this.byteDecoder = new Map(this.byteEncoder.map((ch, b) => [ch, b]));
    this.decoder = new Map([...vocab].map(([t, id]) => [id, t]));
    this.cache.set(BOS_TOKEN, [BOS_TOKEN]);
    this.cache.set(EOS_TOKEN, [EOS_TOKEN]);
  }

  /** Reads an HF tokenizer's vocab.json and merges.txt. */
  static fromFiles(vocabJsonPath: string, mergesTxtPath: string): CLIPTokenizer {
    const read = (p: string, what: string) => {
      if (!existsSync(p)) throw new CLIPTokenizerError(`CLIPTokenizer: ${what} not found: ${p}`);
      return readFileSync(p, 'utf8');
    };
    let raw: unknown;
    try {
      raw = JSON.parse(read(vocabJsonPath, 'vocab.json'));
    } catch (e) {
      if (e instanceof CLIPTokenizerError) throw e;
      throw new CLIPTokenizerError(`CLIPTokenizer: ${vocabJsonPath} is not valid JSON: ${(e as Error).message}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CLIPTokenizerError(`CLIPTokenizer: ${vocabJsonPath} must hold an object of token → id`);
    const vocab = new Map<string, number>();
    for (const [tok, id] of Object.entries(raw)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new CLIPTokenizerError(`CLIPTokenizer: ${vocabJsonPath}: token ${JSON.stringify(tok)} has id ${JSON.stringify(id)}, not a non-negative integer`);
      vocab.set(tok, id);
    }
    const lines = read(mergesTxtPath, 'merges.txt').split('\n');
    const merges: [string, string][] = [];
    lines.forEach((line, i) => {
      const l = line.replace(/\r$/, '');
      if (i === 0 && l.startsWith('#version')) return;
      if (l.trim() === '') return;
      const parts = l.split(' ');
      if (parts.length !== 2 || !parts[0] || !parts[1]) throw new CLIPTokenizerError(`CLIPTokenizer: ${mergesTxtPath} line ${i + 1}: expected two symbols separated by one space, got ${JSON.stringify(l)}`);
      merges.push([parts[0], parts[1]]);
    });
    if (!merges.length) throw new CLIPTokenizerError(`CLIPTokenizer: ${mergesTxtPath} has no merges`);
    return new CLIPTokenizer(vocab, merges, `${vocabJsonPath} + ${mergesTxtPath}`);
  }

  /** A diffusers model folder (its tokenizer/ subfolder) or a tokenizer folder itself. */
  static fromFolder(dir: string): CLIPTokenizer {
    const sub = join(dir, 'tokenizer');
    const base = existsSync(join(sub, 'vocab.json')) ? sub : dir;
    if (!existsSync(join(base, 'vocab.json'))) throw new CLIPTokenizerError(`CLIPTokenizer: no tokenizer/vocab.json or vocab.json in ${dir}`);
    return CLIPTokenizer.fromFiles(join(base, 'vocab.json'), join(base, 'merges.txt'));
  }

  get vocabSize(): number { return this.vocab.size; }

  /** BPE of one byte-encoded word into vocabulary pieces (cached, as the reference). */
  private bpe(token: string): string[] {
    const hit = this.cache.get(token);
    if (hit) return hit;
    let word = [...token.slice(0, -1)].concat(token.slice(-1) + '</w>');
    while (word.length > 1) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      const first = word[best], second = word[best + 1];
      // Merge every non-overlapping occurrence, left to right.
      const next: string[] = [];
      for (let i = 0; i < word.length;) {
        if (word[i] === first && i + 1 < word.length && word[i + 1] === second) { next.push(first + second); i += 2; } else { next.push(word[i]); i += 1; }
      }
      word = next;
    }
    this.cache.set(token, word);
    return word;
  }

  /** Ids of the text without BOS/EOS (the reference's SimpleTokenizer.encode). */
  encodeBody(text: string): number[] {
    const ids: number[] = [];
    for (const m of cleanText(text).matchAll(PATTERN)) {
      let encoded = '';
      for (const b of Buffer.from(m[0], 'utf8')) encoded += this.byteEncoder[b];
      for (const piece of this.bpe(encoded)) {
        const id = this.vocab.get(piece);
        if (id === undefined) throw new CLIPTokenizerError(`CLIPTokenizer: ${this.source} has no token for the BPE piece ${JSON.stringify(piece)} (of ${JSON.stringify(m[0])}): the vocabulary and merges do not belong together`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** [BOS, …ids of text…, EOS], not truncated. */
  encode(text: string): number[] {
    return [this.bosId, ...this.encodeBody(text), this.eosId];
  }

  /**
   * Rows of exactly maxLength ids (default 77) for SD's text encoder: BOS, the text's ids, EOS, then EOS padding;
   * text too long keeps its first maxLength − 2 ids and still ends in EOS (as clip.tokenize(truncate=True) and HF's
   * truncation do).
   */
  call(texts: string | readonly string[], opts: CLIPTokenizeOptions = {}): number[][] {
    const maxLength = opts.maxLength ?? 77;
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new RangeError(`CLIPTokenizer.call: maxLength must be an integer ≥ 2, got ${maxLength}`);
    const list = typeof texts === 'string' ? [texts] : texts;
    return list.map((t) => {
      const body = this.encodeBody(t).slice(0, maxLength - 2);
      const row = [this.bosId, ...body, this.eosId];
      while (row.length < maxLength) row.push(this.padId);
      return row;
    });
  }

  /** Text of ids ('</w>' becomes a space; special tokens kept as text). */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      const tok = this.decoder.get(id);
      if (tok === undefined) throw new RangeError(`CLIPTokenizer.decode: id ${id} is not in the vocabulary (size ${this.vocab.size})`);
      for (const ch of tok.replace(/<\/w>/g, ' ')) {
        const b = this.byteDecoder.get(ch);
        if (b !== undefined) bytes.push(b);
        else bytes.push(...Buffer.from(ch, 'utf8'));
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
}
