// The precision option's names, without libtorch (the CLI's parsers and the service's main thread use them).
export const PRECISIONS = ['fp32', 'bf16', 'auto'] as const;
export type PrecisionOption = (typeof PRECISIONS)[number];
export type Precision = Exclude<PrecisionOption, 'auto'>;

export function isPrecisionOption(s: unknown): s is PrecisionOption {
  return typeof s === 'string' && (PRECISIONS as readonly string[]).includes(s);
}
