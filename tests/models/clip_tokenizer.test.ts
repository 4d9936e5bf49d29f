// CLIPTokenizer against openai/CLIP's SimpleTokenizer: ids from the reference code (scripts/goldens/clip_fixtures.py,
// run with the real ftfy) for a vocabulary made from the first 3000 real CLIP merges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models } from '../../src/index.js';
import { ROOT } from '../helpers.js';

const { CLIPTokenizer, CLIPTokenizerError } = models.clip;
const DIR = join(ROOT, 'tests', 'fixtures', 'models', 'clip');
interface Case { text: string; ids: number[]; needs_ftfy: boolean }
const fixture = JSON.parse(readFileSync(join(DIR, 'tokenizer_cases.json'), 'utf8')) as { vocab_size: number; bos: number; eos: number; cases: Case[] };
const tok = CLIPTokenizer.fromFolder(DIR);

test('vocabulary: size and special ids as the reference', () => {
  assert.equal(tok.vocabSize, fixture.vocab_size);
  assert.equal(tok.bosId, fixture.bos);
  assert.equal(tok.eosId, fixture.eos);
  assert.equal(tok.padId, fixture.eos, 'SD1.5 pads with <|endoftext|>');
});

test('ids equal the reference SimpleTokenizer.encode for every string', () => {
  assert.ok(fixture.cases.length >= 25, 'the fixture has its cases');
  for (const c of fixture.cases) {
    assert.deepEqual(tok.encodeBody(c.text), c.ids, `ids of ${JSON.stringify(c.text)}`);
    assert.deepEqual(tok.encode(c.text), [fixture.bos, ...c.ids, fixture.eos], `encode() of ${JSON.stringify(c.text)} adds BOS and EOS`);
  }
  // Again, now from the BPE cache: same ids.
  for (const c of fixture.cases) assert.deepEqual(tok.encodeBody(c.text), c.ids);
});

test('call(): rows of 77, EOS padding, truncation keeps EOS last', () => {
  const texts = fixture.cases.map((c) => c.text);
  const rows = tok.call(texts, { maxLength: 77 });
  assert.equal(rows.length, texts.length);
  let truncated = 0;
  fixture.cases.forEach((c, i) => {
    const body = c.ids.slice(0, 75);
    if (c.ids.length > 75) truncated++;
    const want = [fixture.bos, ...body, fixture.eos];
    while (want.length < 77) want.push(fixture.eos);
    assert.deepEqual(rows[i], want, JSON.stringify(c.text));
  });
  assert.ok(truncated >= 1, 'a case longer than 75 ids exercises truncation');
  assert.deepEqual(tok.call('', {}), [[fixture.bos, ...Array(76).fill(fixture.eos)]], 'empty text: BOS then EOS padding (default 77)');
  const long = fixture.cases.find((c) => c.ids.length > 8)!;
  assert.deepEqual(tok.call(long.text, { maxLength: 10 })[0], [fixture.bos, ...long.ids.slice(0, 8), fixture.eos]);
  assert.throws(() => tok.call('x', { maxLength: 1 }), /maxLength must be an integer ≥ 2/);
});

test('decode inverts encode up to the cleaning (lowercase, "</w>" → space)', () => {
  assert.equal(tok.decode(tok.encodeBody('A Photo of an  Astronaut, riding!')), 'a photo of an astronaut , riding ! ');
  assert.equal(tok.decode(tok.encodeBody('naïve café 🙂')), 'naïve café 🙂 ');
  assert.throws(() => tok.decode([fixture.vocab_size + 5]), /not in the vocabulary/);
});

test('clean text rules: ftfy subset and html unescape', () => {
  const { cleanText, htmlUnescape } = models.clip;
  assert.equal(cleanText('  Don\u2019t\t\tstop \ufb01ne\u3000\uff21  '), "don't stop fine a");
  assert.equal(htmlUnescape('&amp;amp; &lt;b&gt; &#65;&#x42; &copy &bogus;'), '&amp; <b> AB © &bogus;');
  assert.equal(cleanText('&amp;amp;'), '&', 'html unescaped to the fixed point for text without "<"');
});

test('errors name the file and what is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-clip-tok-'));
  try {
    const vocab = join(DIR, 'tokenizer', 'vocab.json'), merges = join(DIR, 'tokenizer', 'merges.txt');
    assert.throws(() => CLIPTokenizer.fromFiles(join(dir, 'nope.json'), merges), (e: Error) => e instanceof CLIPTokenizerError && /vocab\.json not found: .*nope\.json/.test(e.message));
    assert.throws(() => CLIPTokenizer.fromFiles(vocab, join(dir, 'nope.txt')), /merges\.txt not found/);
    assert.throws(() => CLIPTokenizer.fromFolder(dir), /no tokenizer\/vocab\.json or vocab\.json in/);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"a": 1,');
    assert.throws(() => CLIPTokenizer.fromFiles(bad, merges), /bad\.json is not valid JSON/);
    writeFileSync(bad, '["a"]');
    assert.throws(() => CLIPTokenizer.fromFiles(bad, merges), /must hold an object of token → id/);
    const v = JSON.parse(readFileSync(vocab, 'utf8')) as Record<string, number>;
    writeFileSync(bad, JSON.stringify({ ...v, 'x</w>': 'seven' }));
    assert.throws(() => CLIPTokenizer.fromFiles(bad, merges), /token "x<\/w>" has id "seven"/);
    const noEos = { ...v };
    delete noEos['<|endoftext|>'];
    writeFileSync(bad, JSON.stringify(noEos));
    assert.throws(() => CLIPTokenizer.fromFiles(bad, merges), /has no '<\|endoftext\|>' token/);
    const noMerge = { ...v };
    delete noMerge['th'];
    writeFileSync(bad, JSON.stringify(noMerge));
    assert.throws(() => CLIPTokenizer.fromFiles(bad, merges), /has no 'th' token/, 'a merge whose result the vocabulary lacks');

    const badMerges = join(dir, 'merges.txt');
    writeFileSync(badMerges, '#version: 0.2\ni n\nthree parts here\n');
    assert.throws(() => CLIPTokenizer.fromFiles(vocab, badMerges), /merges\.txt line 3: expected two symbols/);
    writeFileSync(badMerges, '#version: 0.2\n');
    assert.throws(() => CLIPTokenizer.fromFiles(vocab, badMerges), /has no merges/);

    // A diffusers folder layout: <root>/tokenizer/{vocab.json,merges.txt}.
    mkdirSync(join(dir, 'sd', 'tokenizer'), { recursive: true });
    copyFileSync(vocab, join(dir, 'sd', 'tokenizer', 'vocab.json'));
    copyFileSync(merges, join(dir, 'sd', 'tokenizer', 'merges.txt'));
    assert.deepEqual(CLIPTokenizer.fromFolder(join(dir, 'sd')).encode('a cat'), tok.encode('a cat'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
