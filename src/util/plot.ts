// Loss-curve plots rendered without dependencies: an RGB raster with axes, "nice" ticks, tick labels
// (a 3×5 bitmap font), light grid lines and one polyline per series, then encoded as PNG.
import { encodePng, type RgbImage } from './png.js';

export type Rgb = [number, number, number];

export interface Series {
  /** Points (x, y); non-finite y values break the line. */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: Rgb;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  /** Plot y on a log10 axis (values ≤ 0 are skipped). */
  logY?: boolean;
  background?: Rgb;
}

/** Where the data landed: the plot rectangle in pixels and the data ranges mapped onto its edges. */
export interface PlotLayout {
  /** Pixel columns left..right and rows top..bottom (inclusive) of the plot area. */
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** x range mapped to left..right; y range mapped to bottom..top (log10 values when logY). */
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  logY: boolean;
}

export const DEFAULT_COLORS: Rgb[] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40]];
const AXIS: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const TEXT: Rgb = [60, 60, 60];

// 3×5 glyphs, rows top to bottom, 3 bits each (MSB = left column).
const FONT: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 1, 1], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2], '-': [0, 0, 7, 0, 0], '+': [0, 2, 7, 2, 0], e: [0, 7, 7, 4, 7], k: [4, 5, 6, 5, 5],
};

class Canvas {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number, bg: Rgb) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(bg, i * 3);
  }
  set(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(c, (y * this.width + x) * 3);
  }
  /** Bresenham line between integer-rounded endpoints. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb): void {
    x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
    const dx = Math.abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    const dy = -Math.abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      this.set(x0, y0, c);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }
  text(s: string, x: number, y: number, c: Rgb): void {
    for (const ch of s) {
      const g = FONT[ch];
      if (g) for (let r = 0; r < 5; r++) for (let col = 0; col < 3; col++) if (g[r] & (4 >> col)) this.set(x + col, y + r, c);
      x += 4;
    }
  }
}

/** Round tick positions covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `target` of them. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function label(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 && a < 1e6 && Number.isInteger(v / 1000)) return `${v / 1000}k`;
  if (a >= 1e4 || a < 1e-2) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

export function plotLines(series: Series[], opts: PlotOptions = {}): { image: RgbImage; layout: PlotLayout } {
  const width = opts.width ?? 480;
  const height = opts.height ?? 300;
  const logY = opts.logY ?? false;
  const cv = new Canvas(width, height, opts.background ?? [255, 255, 255]);
  const fy = (y: number) => (logY ? (y > 0 ? Math.log10(y) : NaN) : y);

  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (const s of series) {
    const n = Math.min(s.x.length, s.y.length);
    for (let i = 0; i < n; i++) {
      const x = s.x[i], y = fy(s.y[i]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      xMin = Math.min(xMin, x); xMax = Math.max(xMax, x);
      yMin = Math.min(yMin, y); yMax = Math.max(yMax, y);
    }
  }
  if (!Number.isFinite(xMin)) { xMin = 0; xMax = 1; yMin = 0; yMax = 1; }
  if (xMax === xMin) { xMin -= 0.5; xMax += 0.5; }
  if (yMax === yMin) { yMin -= 0.5; yMax += 0.5; }

  const layout: PlotLayout = { left: 40, right: width - 12, top: 10, bottom: height - 20, xMin, xMax, yMin, yMax, logY };
  const px = (x: number) => layout.left + ((x - xMin) / (xMax - xMin)) * (layout.right - layout.left);
  const py = (y: number) => layout.bottom - ((y - yMin) / (yMax - yMin)) * (layout.bottom - layout.top);

  // Grid and ticks first, so the data is drawn over them.
  for (const t of niceTicks(xMin, xMax)) {
    const x = px(t);
    cv.line(x, layout.top, x, layout.bottom - 1, GRID);
    cv.line(x, layout.bottom, x, layout.bottom + 3, AXIS);
    const s = label(t);
    cv.text(s, x - (s.length * 4 - 1) / 2, layout.bottom + 6, TEXT);
  }
  for (const t of niceTicks(yMin, yMax)) {
    const y = py(t);
    cv.line(layout.left + 1, y, layout.right, y, GRID);
    cv.line(layout.left - 3, y, layout.left, y, AXIS);
    const s = logY ? label(Math.pow(10, t)) : label(t);
    cv.text(s, layout.left - 5 - s.length * 4, y - 2, TEXT);
  }
  cv.line(layout.left, layout.top, layout.left, layout.bottom, AXIS);
  cv.line(layout.left, layout.bottom, layout.right, layout.bottom, AXIS);

  series.forEach((s, k) => {
    const color = s.color ?? DEFAULT_COLORS[k % DEFAULT_COLORS.length];
    const n = Math.min(s.x.length, s.y.length);
    let prev: [number, number] | null = null;
    for (let i = 0; i < n; i++) {
      const x = s.x[i], y = fy(s.y[i]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) { prev = null; continue; }
      const p: [number, number] = [px(x), py(y)];
      if (prev) cv.line(prev[0], prev[1], p[0], p[1], color);
      else cv.set(p[0], p[1], color);
      prev = p;
    }
  });
  return { image: { width, height, channels: 3, data: cv.data }, layout };
}

/** A loss curve (step → loss) as PNG bytes. */
export function lossCurvePng(steps: ArrayLike<number>, losses: ArrayLike<number>, opts: PlotOptions = {}): Buffer {
  return encodePng(plotLines([{ x: steps, y: losses }], opts).image);
}

/**
 * A metric from a metrics CSV (as written by CsvLogger) as a PNG curve; rows without the metric are
 * skipped. Returns undefined when the metric has no values yet.
 */
export function metricCurvePng(rows: Record<string, number | undefined>[], metric: string, opts: PlotOptions = {}): Buffer | undefined {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const r of rows) {
    const y = r[metric];
    if (y === undefined || r.step === undefined) continue;
    xs.push(r.step);
    ys.push(y);
  }
  return xs.length ? lossCurvePng(xs, ys, opts) : undefined;
}
