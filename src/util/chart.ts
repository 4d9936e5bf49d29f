// Line and bar charts people can read: a title, axis labels, a legend and real fonts, drawn as SVG and rendered
// to PNG by sharp (librsvg). Used for training curves (loss.png, val_psnr.png), the eval's PSNR-vs-nfe plot and
// the bench's ratio chart.
import sharp from 'sharp';
import { niceTicks } from './plot.js';
import { escapeXml } from './xml.js';

export interface ChartSeries {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
  /** Draw a marker at each point (default: only when the series has at most 40 points). */
  markers?: boolean;
  /** A dashed line (baselines). */
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** log10 y axis (values ≤ 0 are skipped). */
  logY?: boolean;
  /** A note under the title (the command, the data). */
  subtitle?: string;
}

export const CHART_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const FONT = 'DejaVu Sans, Liberation Sans, sans-serif';


/** A tick value as text: 12k, 0.5, 1e-3. */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 && a < 1e6 && Number.isInteger(v / 1000)) return `${v / 1000}k`;
  if (a >= 1e6 || a < 1e-2) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/** Labels for evenly spaced ticks: as many decimals as the spacing needs (33.95, 34.00, 34.05 — not 34, 34, 34). */
export function tickLabels(ticks: number[]): string[] {
  if (ticks.length < 2) return ticks.map(tickLabel);
  const step = Math.abs(ticks[1] - ticks[0]);
  const big = Math.max(...ticks.map(Math.abs));
  if (big >= 1e4 || step >= 1) return ticks.map(tickLabel);
  const d = Math.min(6, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
  return ticks.map((t) => (Math.abs(t) < step * 1e-6 ? '0' : t.toFixed(d)));
}

/** Title and subtitle, shrunk to fit the width (DejaVu Sans bold is about 0.62 em per character). */
function titleSvg(o: { title: string; subtitle?: string }, W: number): string {
  const size = Math.min(17, Math.floor((W - 24) / (0.62 * Math.max(1, o.title.length))));
  const sub = o.subtitle ? Math.min(11, Math.floor((W - 24) / (0.55 * o.subtitle.length))) : 0;
  return `<text x="${W / 2}" y="24" font-size="${size}" font-weight="bold" text-anchor="middle">${escapeXml(o.title)}</text>` +
    (o.subtitle ? `<text x="${W / 2}" y="42" font-size="${sub}" fill="#555" text-anchor="middle">${escapeXml(o.subtitle)}</text>` : '');
}

/** Ticks of a log10 axis spanning [lo, hi] (log10 values): 1, 2, 5 × 10^k where they fit, else powers of ten. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const mult = hi - lo > 3 ? [1] : [1, 2, 5];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) for (const m of mult) {
    const t = Math.log10(m) + k;
    if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push(t);
  }
  return out.length >= 2 ? out : niceTicks(lo, hi, 4);
}

/** The SVG of a line chart. */
export function lineChartSvg(series: ChartSeries[], o: ChartOptions): string {
  const W = o.width ?? 640, H = o.height ?? 400;
  const logY = o.logY ?? false;
  const fy = (y: number) => (logY ? (y > 0 ? Math.log10(y) : NaN) : y);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) {
    for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
      const x = s.x[i], y = fy(s.y[i]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  if (!Number.isFinite(x0)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
  if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const padY = (y1 - y0) * 0.06, padX = (x1 - x0) * 0.02;
  y0 -= padY; y1 += padY; x0 -= padX; x1 += padX;
  const top = o.subtitle ? 58 : 42, left = 70, right = W - 20, bottom = H - 50;
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (right - left);
  const py = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="#fff"/>`];
  parts.push(titleSvg(o, W));
  const xt = niceTicks(x0, x1, 6), xl = tickLabels(xt);
  xt.forEach((t, i) => {
    const x = px(t);
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#e5e5e5"/>`, `<text x="${x}" y="${bottom + 16}" font-size="11" text-anchor="middle" fill="#333">${xl[i]}</text>`);
  });
  const yt = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 6), yl = logY ? yt.map((t) => tickLabel(Number((10 ** t).toPrecision(6)))) : tickLabels(yt);
  yt.forEach((t, i) => {
    const y = py(t);
    parts.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e5e5e5"/>`, `<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end" fill="#333">${yl[i]}</text>`);
  });
  parts.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(left + right) / 2}" y="${H - 12}" font-size="13" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${(top + bottom) / 2}) rotate(-90)" font-size="13" text-anchor="middle">${escapeXml(o.yLabel + (logY ? ' (log scale)' : ''))}</text>`);
  series.forEach((s, k) => {
    const c = s.color ?? CHART_COLORS[k % CHART_COLORS.length];
    const pts: string[] = [];
    const segs: string[][] = [];
    const n = Math.min(s.x.length, s.y.length);
    for (let i = 0; i < n; i++) {
      const x = s.x[i], y = fy(s.y[i]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) { if (pts.length) segs.push(pts.splice(0)); continue; }
      pts.push(`${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    }
    if (pts.length) segs.push(pts);
    for (const seg of segs) parts.push(`<polyline points="${seg.join(' ')}" fill="none" stroke="${c}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (s.markers ?? n <= 40) for (const seg of segs) for (const p of seg) { const [a, b] = p.split(','); parts.push(`<circle cx="${a}" cy="${b}" r="3.2" fill="${c}"/>`); }
  });
  // legend inside the plot, in the corner the data leaves emptiest
  const lw = Math.max(...series.map((s) => s.label.length), 4) * 6.8 + 34, lh = series.length * 18 + 8;
  if (series.length) {
    const mid = (top + bottom - lh) / 2;
    const corners = [[right - lw - 8, top + 8], [right - lw - 8, bottom - lh - 8], [left + 8, top + 8], [left + 8, bottom - lh - 8], [right - lw - 8, mid], [left + 8, mid]];
    // points and the lines between them (sampled), in pixels: the legend goes where fewest fall
    const pix: [number, number][] = [];
    for (const s of series) {
      let prev: [number, number] | null = null;
      for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
        const p: [number, number] = [px(s.x[i]), py(fy(s.y[i]))];
        if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) { prev = null; continue; }
        if (prev) for (let k = 1; k < 12; k++) pix.push([prev[0] + ((p[0] - prev[0]) * k) / 12, prev[1] + ((p[1] - prev[1]) * k) / 12]);
        pix.push(p, p, p); // a marker weighs more than a stretch of line
        prev = p;
      }
    }
    const inBox = ([bx, by]: number[]) => pix.filter(([X, Y]) => X >= bx - 6 && X <= bx + lw + 6 && Y >= by - 6 && Y <= by + lh + 6).length;
    const [lx, ly] = corners.reduce((best, c) => (inBox(c) < inBox(best) ? c : best));
    parts.push(`<rect x="${lx}" y="${ly}" width="${lw}" height="${lh}" fill="#fff" fill-opacity="0.9" stroke="#bbb"/>`);
    series.forEach((s, k) => {
      const c = s.color ?? CHART_COLORS[k % CHART_COLORS.length], y = ly + 14 + k * 18, x = lx + 8;
      parts.push(`<line x1="${x}" y1="${y - 4}" x2="${x + 20}" y2="${y - 4}" stroke="${c}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`, `<text x="${x + 26}" y="${y}" font-size="12">${escapeXml(s.label)}</text>`);
    });
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="${FONT}">${parts.join('')}</svg>`;
}

export interface Bar {
  label: string;
  value: number;
  color?: string;
}

/** The SVG of a horizontal bar chart with a reference line (e.g. ratio 1 = parity). */
export function barChartSvg(bars: Bar[], o: Omit<ChartOptions, 'logY' | 'yLabel'> & { reference?: { value: number; label: string } }): string {
  const W = o.width ?? 720, rowH = 22, top = o.subtitle ? 60 : 44, labelW = Math.min(440, Math.max(...bars.map((b) => b.label.length), 4) * 7.2 + 16);
  const H = o.height ?? top + bars.length * rowH + 50, left = labelW, right = W - 50, bottom = top + bars.length * rowH;
  const vmax = Math.max(...bars.map((b) => b.value).filter(Number.isFinite), o.reference?.value ?? 0, 1e-9) * 1.08;
  const px = (v: number) => left + (Math.max(0, v) / vmax) * (right - left);
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="#fff"/>`];
  parts.push(titleSvg(o, W));
  for (const t of niceTicks(0, vmax, 6)) {
    const x = px(t);
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#e5e5e5"/>`, `<text x="${x}" y="${bottom + 16}" font-size="11" text-anchor="middle" fill="#333">${tickLabel(t)}</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const v = Number.isFinite(b.value) ? b.value : 0;
    parts.push(`<text x="${left - 8}" y="${y + rowH * 0.68}" font-size="12" text-anchor="end">${escapeXml(b.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${px(v) - left}" height="${rowH - 8}" fill="${b.color ?? CHART_COLORS[0]}"/>`);
    parts.push(`<text x="${px(v) + 4}" y="${y + rowH * 0.68}" font-size="11" fill="#333">${Number.isFinite(b.value) ? b.value.toFixed(2) : 'n/a'}</text>`);
  });
  if (o.reference) {
    const x = px(o.reference.value);
    parts.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${bottom}" stroke="#d62728" stroke-dasharray="5 3" stroke-width="1.5"/>`, `<text x="${x + 4}" y="${top - 6}" font-size="11" fill="#d62728">${escapeXml(o.reference.label)}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333"/>`);
  parts.push(`<text x="${(left + right) / 2}" y="${H - 12}" font-size="13" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="${FONT}">${parts.join('')}</svg>`;
}

/** SVG → PNG bytes (sharp / librsvg, white background). */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).png().toBuffer();
}
