// A small multipart/form-data parser (RFC 7578) over a fully read, size-capped body: text fields as
// strings, file parts as Buffers. Enough for one image plus a few option fields; no streaming needed
// because the body is already bounded by --max-upload-mb.
import { HttpError } from './errors.js';

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** The boundary parameter of a multipart Content-Type, or HttpError 400. */
export function multipartBoundary(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  if (!b || b.length > 70) throw new HttpError(400, 'multipart/form-data request without a valid boundary parameter');
  return b;
}

function headerParam(header: string, key: string): string | undefined {
  const re = new RegExp(`;\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/** Splits a multipart body into parts. Throws HttpError 400 on malformed input. */
export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delim = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) throw new HttpError(400, 'malformed multipart body: boundary not found');
  for (;;) {
    pos += delim.length;
    // "--" right after a delimiter closes the body
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else throw new HttpError(400, 'malformed multipart body: expected CRLF after boundary');
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) throw new HttpError(400, 'malformed multipart body: part headers not terminated');
    const headers = body.subarray(pos, headEnd).toString('utf8').split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) throw new HttpError(400, 'malformed multipart body: missing closing boundary');
    let name: string | undefined;
    let filename: string | undefined;
    let contentType: string | undefined;
    for (const h of headers) {
      const colon = h.indexOf(':');
      if (colon < 0) continue;
      const key = h.slice(0, colon).trim().toLowerCase();
      const value = h.slice(colon + 1).trim();
      if (key === 'content-disposition') {
        name = headerParam(value, 'name');
        filename = headerParam(value, 'filename');
      } else if (key === 'content-type') contentType = value;
    }
    if (name === undefined) throw new HttpError(400, 'malformed multipart body: a part has no Content-Disposition name');
    parts.push({ name, filename, contentType, data: body.subarray(headEnd + 4, next) });
    pos = next + 2;
  }
}
