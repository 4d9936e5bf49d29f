// The precision rows (bench/rows/precision.ts) and their summary in the report: every model of the bundled default
// at fp32, bf16 and bf16+CL on both sides, and the summary's speed-up over PyTorch fp32 and ratio to PyTorch's best.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allRows } from '../../bench/registry.js';
import { GROUP, VARIANTS } from '../../bench/rows/precision.js';
import { precisionSummaries, type RowResult } from '../../bench/report.js';

test('each model row comes in fp32, bf16 and bf16+CL, with the same PyTorch setting on the other side', () => {
  const rows = allRows().filter((r) => r.group === GROUP);
  const bases = [...new Set(rows.map((r) => r.name.replace(/ · [^·]+$/, '')))];
  assert.deepEqual(bases.map((b) => b.split(' [')[0].split(' 64²')[0]), [
    'UNet fwd default', 'flow train step default', 'VAE encode 16-ch f4c8', 'VAE decode 16-ch f4c8', 'autoencoder train step 16-ch f4c8', 'upscale 256→1024 euler 1 step (bundled model)',
  ]);
  for (const b of bases) assert.deepEqual(rows.filter((r) => r.name.startsWith(b + ' · ')).map((r) => r.name.slice(b.length + 3)), [...VARIANTS]);
  for (const r of rows) {
    const v = r.name.split(' · ').pop();
    assert.equal(r.torch.setup.includes('channels_last'), v === 'bf16+CL', `${r.name}: torch layout`);
    assert.equal(/autocast\("cpu"/.test(r.torch.step), v !== 'fp32', `${r.name}: torch autocast`);
    assert.ok(r.flops && r.flops > 0, `${r.name}: FLOPs`);
  }
});

test('summary: × = torch fp32 / our best, ratio = our best / torch best, one line per base with all variants', () => {
  const row = (name: string, oursMs: number, torchMs: number) => ({ name, oursMs, torchMs }) as RowResult;
  const s = precisionSummaries([
    row('m · fp32', 100, 200), row('m · bf16', 60, 120), row('m · bf16+CL', 50, 80),
    row('half · bf16', 1, 1), row('plain row', 1, 1),
  ]);
  assert.equal(s.length, 1);
  assert.deepEqual([s[0].base, s[0].oursBest, s[0].torchBest], ['m', { variant: 'bf16+CL', ms: 50 }, { variant: 'bf16+CL', ms: 80 }]);
  assert.equal(s[0].speedupVsTorchFp32, 4);
  assert.equal(s[0].ratioVsTorchBest, 50 / 80);
});
