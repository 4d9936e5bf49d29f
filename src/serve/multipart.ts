// multipart/form-data through Node's own parser (undici's Response.formData, built into Node ≥ 18) over a fully
// read, size-capped body: text fields as strings, file parts as Buffers. The body is already bounded by
// --max-upload-mb, so nothing needs streaming.
import { HttpError } from './errors.js';

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** The parts of a multipart body, in order. Throws HttpError 400 on a missing boundary or a malformed body. */
export async function parseMultipart(body: Buffer, contentType: string): Promise<FormPart[]> {
  if (!/;\s*boundary=("[^"]+"|[^;\s]+)/i.test(contentType)) throw new HttpError(400, 'multipart/form-data request without a valid boundary parameter');
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (e) {
    throw new HttpError(400, `malformed multipart body: ${(e as Error).message}`);
  }
  const parts: FormPart[] = [];
  for (const [name, v] of form) {
    if (typeof v === 'string') parts.push({ name, data: Buffer.from(v, 'utf8') });
    else parts.push({ name, filename: v.name, ...(v.type ? { contentType: v.type } : {}), data: Buffer.from(await v.arrayBuffer()) });
  }
  return parts;
}
