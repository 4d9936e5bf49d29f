import test from 'node:test';
import assert from 'node:assert/strict';
import { golden } from '../helpers.js';
import { lrSchedule, lrFactorFn, LrScheduleError } from '../../src/train/lr.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('constant warmup: closed form values (reference: s / warmup, then 1)', () => {
  const f = lrSchedule(3e-5, { name: 'constant_warmup', warmupSteps: 1000 });
  close(f(0), 0);
  close(f(1), 3e-5 / 1000);
  close(f(500), 1.5e-5);
  close(f(999), 3e-5 * 0.999);
  close(f(1000), 3e-5);
  close(f(250000), 3e-5);
  // warmup 0 means constant from the first step (max(1, warmup) avoids 0/0)
  close(lrSchedule(1e-4, { name: 'constant_warmup', warmupSteps: 0 })(0), 1e-4);
});

test('cosine warmup: closed form values', () => {
  const f = lrFactorFn({ name: 'cosine_warmup', warmupSteps: 10, totalSteps: 110 });
  close(f(5), 0.5);
  close(f(10), 1);
  close(f(60), 0.5); // halfway through the cosine
  close(f(110), 0);
  close(f(200), 0.5 * (1 + Math.cos(Math.PI * 1.9))); // past the end the reference keeps following the cosine
});

test('schedules equal the lr torch LambdaLR applies at each optimizer step (golden)', () => {
  const g = golden('lr_schedules.json');
  const cases: [string, ReturnType<typeof lrSchedule>][] = [
    ['constant_warmup', lrSchedule(g.constant_warmup.base, { name: 'constant_warmup', warmupSteps: g.constant_warmup.warmup })],
    ['cosine_warmup', lrSchedule(g.cosine_warmup.base, { name: 'cosine_warmup', warmupSteps: g.cosine_warmup.warmup, totalSteps: g.cosine_warmup.total })],
    ['cosine_warmup_2cycles', lrSchedule(g.cosine_warmup_2cycles.base, { name: 'cosine_warmup', warmupSteps: 4, totalSteps: 20, numCycles: 2 })],
  ];
  for (const [name, f] of cases) {
    const lrs: number[] = g[name].lr;
    lrs.forEach((want, k) => close(f(k), want, 1e-9));
  }
});

test('bad schedule configs are typed errors naming the problem', () => {
  assert.throws(() => lrFactorFn({ name: 'cosine_warmup', warmupSteps: 10 }), (e: Error) => e instanceof LrScheduleError && /totalSteps/.test(e.message));
  assert.throws(() => lrFactorFn({ name: 'constant_warmup', warmupSteps: -1 }), /warmupSteps/);
  assert.throws(() => lrFactorFn({ name: 'linear' as never, warmupSteps: 1 }), /unknown lr schedule "linear"/);
});
