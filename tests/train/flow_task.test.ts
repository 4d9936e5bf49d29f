// FlowTask.latents: with train.precision=bf16 the frozen VAE encodes in bf16 with channels_last weights (2× faster
// than fp32 on a bf16 CPU), and its latents stay within bf16 accuracy of the fp32 ones, in the fp32 layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { loadConfig } from '../../src/train/config/index.js';
import { FlowTask } from '../../src/train/loop/flow_task.js';
import { rand, tidy, type Tensor } from '../../src/tensor/index.js';
import type { Batch } from '../../src/data/index.js';
import { flowConfig, makeFixture } from './e2e_fixtures.js';

test('bf16 training encodes its batches in bf16 + channels_last, close to the fp32 latents', async () => {
  const f = await makeFixture(2, { corrupt: false });
  const tasks: FlowTask[] = [];
  try {
    for (const precision of ['fp32', 'bf16']) tasks.push(new FlowTask(loadConfig(flowConfig(f, { precision })).config));
    const [fp32, bf16] = tasks;
    const w = (t: FlowTask) => t.vae.encoder.convIn.weight;
    assert.equal(w(bf16).isContiguous('channels_last') && !w(bf16).isContiguous(), true, 'bf16: VAE weights channels_last');
    assert.equal(w(fp32).isContiguous(), true, 'fp32: VAE weights stay NCHW');
    tidy(() => {
      const image = rand([2, 3, 64, 64]).mul(2).sub(1);
      const batch = { image, tensors: { image }, keys: ['a', 'b'], indices: [0, 1] } as unknown as Batch;
      const a = fp32.latents(batch), b = bf16.latents(batch);
      for (const [k, x, y] of [['x1', a.x1, b.x1], ['low', a.low, b.low]] as [string, Tensor, Tensor][]) {
        assert.equal(y.dtype, 'float32');
        assert.equal(y.isContiguous(), true, `${k} is NCHW float32 as in fp32 training`);
        const rel = y.sub(x).norm().item() / x.norm().item();
        assert.ok(rel > 0 && rel < 0.02, `${k}: relative difference ${rel}`);
      }
    });
  } finally {
    for (const t of tasks) t.dispose();
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test('model.flow.pixel_loss_weight adds the decoded one-step estimate\'s pixel MSE, with gradients into the UNet only', async () => {
  const f = await makeFixture(2, { corrupt: false });
  const cfg = loadConfig(flowConfig(f, {}), ['model.flow.pixel_loss_weight=0.5', 'model.flow.noising_step=-1']).config;
  const task = new FlowTask(cfg);
  try {
    const { Generator } = await import('../../src/tensor/index.js');
    const streams = { time: new Generator(1), noise: new Generator(2), posterior: new Generator(3), dropout: new Generator(4) };
    tidy(() => {
      const image = rand([2, 3, 64, 64]).mul(2).sub(1);
      const batch = { image, tensors: { image }, keys: ['a', 'b'], indices: [0, 1] } as unknown as Batch;
      const r = task.loss(batch, streams);
      const terms = r.terms!;
      assert.ok(terms['train/flow_loss'] > 0 && terms['train/pixel_loss'] > 0, JSON.stringify(terms));
      assert.ok(Math.abs(r.loss.item() - (terms['train/flow_loss'] + 0.5 * terms['train/pixel_loss'])) < 1e-5);
      r.loss.backward();
      const grads = task.model.parameters().filter((p) => p.grad && p.grad.abs().sum().item() > 0);
      assert.ok(grads.length > 0, 'the UNet gets gradients');
      assert.ok(task.vae.parameters().every((p) => !p.grad), 'the frozen VAE gets none');
      const latent = image.narrow(2, 0, 16).narrow(3, 0, 16);
      const lat = { latent, latent_lowres: latent, tensors: { latent }, keys: [], indices: [] } as unknown as Batch;
      assert.throws(() => task.loss(lat, streams), /pixel_loss_weight > 0 needs image batches/);
    });
    task.model.zeroGrad();
  } finally {
    task.dispose();
    rmSync(f.dir, { recursive: true, force: true });
  }
});

test('validation runs the one upscale path: its predictions are what Upsampler.fromModels gives for the degraded images', async () => {
  const f = await makeFixture(2, { corrupt: false });
  const cfg = loadConfig(flowConfig(f, {}), ['model.flow.noising_step=-1', 'data.degradations=[bicubic_aa,bilinear]']).config;
  const { Generator, liveTensors } = await import('../../src/tensor/index.js');
  const { Upsampler } = await import('../../src/pipeline/index.js');
  const { flowConfigOfRun } = await import('../../src/upscale/model.js');
  const { degrade } = await import('../../src/data/index.js');
  const before = liveTensors();
  const task = new FlowTask(cfg);
  const image = tidy(() => rand([2, 3, 64, 64]).mul(2).sub(1));
  try {
    const batch = { image, tensors: { image }, keys: ['a', 'b'], indices: [0, 1] } as unknown as Batch;
    const v = await task.valImages(batch, task.emaModel, new Generator(0));
    const flow = flowConfigOfRun(cfg as unknown as Record<string, unknown>, 'test');
    assert.equal(flow.factor, cfg.data.image_size / cfg.data.low_res_size);
    const up = Upsampler.fromModels({ path: 'test', name: 'test', unet: task.emaModel, vae: task.vae, flow });
    try {
      for (let i = 0; i < 2; i++) {
        // validation degrades with the first of data.degradations
        const lo = tidy(() => degrade(image.narrow(0, i, 1), [cfg.data.low_res_size, cfg.data.low_res_size], 'bicubic_aa').squeeze(0));
        const r = await up.upsampleImage(lo, { steps: cfg.train.val.num_steps - 1, solver: cfg.train.val.solver, seed: 0 });
        const diff = tidy(() => r.image.sub(v.pred.select(0, i)).abs().max().item());
        assert.ok(diff < 1e-5, `image ${i}: validation and Upsampler differ by ${diff}`);
        r.dispose();
        lo.dispose();
      }
    } finally {
      up.dispose();
    }
    assert.deepEqual(v.lr.shape, v.hr.shape);
    for (const t of [v.hr, v.lr, v.pred]) t.dispose();
    // fromModels leaves the caller's networks alone
    assert.ok(task.emaModel.parameters()[0].numel > 0);
  } finally {
    image.dispose();
    task.dispose();
    rmSync(f.dir, { recursive: true, force: true });
  }
  assert.equal(liveTensors(), before);
});
