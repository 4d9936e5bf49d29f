// Reading a request body with a hard size cap: a declared Content-Length over the cap is refused before
// a byte is read, and a chunked body is cut off (and the socket released) as soon as it passes the cap.
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';

export function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body is larger than the limit of ${formatBytes(limit)}`, { Connection: 'close' });
}

export function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${+(n / (1 << 20)).toFixed(2)} MiB` : n >= 1024 ? `${+(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}

/** The whole body as one Buffer, or HttpError 413 when it exceeds `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // drain nothing more than needed: the response closes the connection
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => { if (!done) { done = true; resolve(Buffer.concat(chunks, size)); } });
    req.on('error', (e) => { if (!done) { done = true; reject(e); } });
    req.on('aborted', () => { if (!done) { done = true; reject(new HttpError(400, 'request aborted by the client')); } });
  });
}
