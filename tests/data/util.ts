// Test helpers for tests/data: synthetic images and temp folders (no downloads).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp directory removed by the returned cleanup function. */
export function tempDir(prefix = 'fmboost-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic HWC RGB uint8 pixels: a gradient plus hashed noise, different per `seed`. */
export function syntheticRgb(height: number, width: number, seed = 0, noise = 0.3): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const grad = c === 0 ? (x * 255) / Math.max(1, width - 1) : c === 1 ? (y * 255) / Math.max(1, height - 1) : ((x + y) * 127) / Math.max(1, width + height - 2);
        out[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(grad * (1 - noise) + ((s >>> 24) & 0xff) * noise)));
      }
    }
  }
  return out;
}
