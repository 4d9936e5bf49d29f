// Worker-thread entry: decodes images for the loader's pool. Never loads libtorch.
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { runDecodeTask, type DecodeTask } from './decode_task.js';

// Parallelism comes from the pool; one libvips thread per worker avoids oversubscribing the cores.
sharp.concurrency(1);
sharp.cache(false);

parentPort!.on('message', (t: DecodeTask) => {
  void runDecodeTask(t).then((r) => {
    parentPort!.postMessage(r, r.ok ? [r.data.buffer as ArrayBuffer] : []);
  });
});
