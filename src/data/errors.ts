// Typed errors of the data pipeline. Pure (no native imports): worker threads load this file too.

/** An image file or buffer could not be decoded (corrupt, truncated, unsupported, or too large). */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  /** The file (or member/buffer name) that failed. */
  readonly file: string;
  /** The underlying reason, as given by the decoder. */
  readonly reason: string;
  readonly code: 'corrupt' | 'too_large' | 'unsupported' | 'io';
  constructor(file: string, reason: string, code: ImageDecodeError['code'] = 'corrupt') {
    super(`cannot decode image '${file}': ${reason}`);
    this.file = file;
    this.reason = reason;
    this.code = code;
  }
}

/** An image could not be encoded (bad tensor shape/dtype, unknown format). */
export class ImageEncodeError extends Error {
  override readonly name = 'ImageEncodeError';
  constructor(readonly target: string, readonly reason: string) {
    super(`cannot encode image '${target}': ${reason}`);
  }
}

/** A data source (folder, tar shard, latent manifest) is malformed. */
export class DataSourceError extends Error {
  override readonly name = 'DataSourceError';
  constructor(readonly source: string, readonly reason: string) {
    super(`data source '${source}': ${reason}`);
  }
}
