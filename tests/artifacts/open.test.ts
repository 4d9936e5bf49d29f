// openArtifact tells our formats apart by the header alone and reads one section on request.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, writeSafetensors, liveTensors } from '../../src/tensor_library.js';
import { saveCheckpoint } from '../../src/artifacts/checkpoint.js';
import { ArtifactError, openArtifact } from '../../src/artifacts/open.js';
import { BUNDLE_FORMAT } from '../../src/artifacts/formats.js';

test('openArtifact: kinds, metadata, config and sections without loading tensors; read(section) strips the prefix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fmboost-artifact-'));
  try {
    const w = tensor([1, 2, 3]), b = tensor([4]);
    const ck = join(dir, 'ck.safetensors');
    saveCheckpoint(ck, { step: 7, model: new Map([['w', w]]), ema: new Map([['w', w]]), trainer: {}, config: { name: 'x', mode: 'flow' } });
    const bundle = join(dir, 'bundle.safetensors');
    writeSafetensors(bundle, new Map([['unet.w', w], ['vae.b', b]]), { format: BUNDLE_FORMAT, flow: '{"factor":4}' });
    const other = join(dir, 'other.safetensors');
    writeSafetensors(other, new Map([['w', w]]));
    const before = liveTensors();

    const a = openArtifact(ck);
    assert.equal(a.kind, 'checkpoint');
    assert.equal(a.metadata.step, '7');
    assert.deepEqual(a.json('config'), { name: 'x', mode: 'flow' });
    assert.deepEqual(a.sections().sort(), ['ema', 'model']);
    assert.equal(liveTensors(), before, 'opening reads no tensor');

    const bu = openArtifact(bundle);
    assert.equal(bu.kind, 'bundle');
    assert.deepEqual(bu.json('flow'), { factor: 4 });
    assert.deepEqual(bu.sections().sort(), ['unet', 'vae']);
    const vae = bu.read('vae');
    assert.deepEqual([...vae.keys()], ['b']);
    assert.deepEqual([...vae.get('b')!.toFloat32Array()], [4]);
    for (const t of vae.values()) t.dispose();

    assert.equal(openArtifact(other).kind, 'safetensors');
    assert.equal(openArtifact(other).json('config'), undefined);

    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, 'not a weights file at all');
    assert.throws(() => openArtifact(junk), (e: Error) => e instanceof ArtifactError && /junk\.bin: not a safetensors or PyTorch file/.test(e.message));
    assert.throws(() => openArtifact(join(dir, 'missing.safetensors')), (e: Error) => e instanceof ArtifactError && /missing\.safetensors/.test(e.message));
    writeSafetensors(other, new Map([['w', w]]), { config: '{oops' });
    assert.throws(() => openArtifact(other).json('config'), /metadata "config" is not valid JSON/);
    w.dispose(); b.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
