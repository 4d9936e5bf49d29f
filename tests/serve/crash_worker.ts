// A stand-in upsampling worker for WorkerPool tests: speaks the worker protocol, "upscales" by echoing
// the input, and kills its own thread when asked for seed 13 (to test crash recovery).
import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from '../../src/serve/worker_protocol.js';

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
post({ type: 'ready', model: { name: 'echo', scales: [2], defaults: { steps: 2, solver: 'euler', noiseStep: 0 } } });
port.on('message', (m: ToWorker) => {
  if (m.type !== 'run') return;
  if (m.options.seed === 13) process.exit(3);
  post({ type: 'progress', id: m.id, stage: 'flow', step: 1, total: 1, fraction: 0 });
  post({ type: 'done', id: m.id, encoded: m.image, format: 'png', width: 1, height: 1, info: { echo: true } });
});
