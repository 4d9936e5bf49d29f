// Writes an evaluation: eval.md (table of means), eval.json (everything, per image), eval_psnr_nfe.png
// (PSNR against function evaluations, one line per solver) and eval_grid.png (bicubic | ESRGAN | ours | ground
// truth, each column titled in words above it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { lineChartSvg, svgToPng, type ChartSeries } from '../util/chart.js';
import { escapeXml } from '../util/xml.js';
import { imageGrid } from '../data/image_grid.js';
import type { Tensor } from '../tensor/index.js';
import type { EvalResult, RowResult } from './run.js';
import { noiseLabel, rowTitle } from './rows.js';
import { DEGRADATION_DOCS } from '../data/degradation_names.js';

export interface EvalFiles { md: string; json: string; plot: string; grid: string | null }

export const SOLVER_COLORS: Record<string, string> = { euler: '#1f77b4', rk4: '#ff7f0e', dopri5: '#2ca02c', midpoint: '#d62728', heun: '#9467bd' };
const COLOR_NAMES: Record<string, string> = { euler: 'blue', rk4: 'orange', dopri5: 'green', midpoint: 'red', heun: 'purple' };

const fmt = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

/** CFM rows at the model's own source and noise step, grouped by solver and sorted by nfe: the plot's lines. */
export function solverCurves(r: EvalResult): Map<string, RowResult[]> {
  const out = new Map<string, RowResult[]>();
  for (const row of r.rows) {
    if (row.kind !== 'cfm' || row.source !== r.flow.source || row.noiseStep !== r.flow.noiseStep) continue;
    const l = out.get(row.solver!) ?? [];
    l.push(row);
    out.set(row.solver!, l);
  }
  for (const l of out.values()) l.sort((a, b) => a.nfe - b.nfe);
  return out;
}

export function evalMarkdown(r: EvalResult): string {
  const lines = [
    `# fmboost eval: ${r.model}`,
    '',
    `Model \`${r.modelPath}\` (${r.flow.factor}×, source ${r.flow.source}, noise step ${noiseLabel(r.flow.noiseStep)}); ${r.images.length} image(s); seed ${r.seed}.`,
    `Low-res input (degradation \`${r.degradation}\`): ${DEGRADATION_DOCS[r.degradation]} downsample of the high-res image by the model factor, quantised to 8 bits. Model rows at ${r.precision}.`,
    'PSNR / SSIM against the high-res image in [-1, 1] (data range 2; SSIM: 11-tap Gaussian, σ 1.5); means over images.',
    'SWD×1e3: sliced Wasserstein distance between the set of the row\'s outputs and the set of high-res images on Laplacian-pyramid 7×7 patches (Karras et al. 2018), mean over levels; lower is better. A feature-distance score for comparing rows here, not comparable with published FID or SWD values (src/eval/README.md).',
    's/image: wall time of the row on this machine (CFM rows: encode + flow + decode). nfe: UNet evaluations per image.',
    'colour: mean over images of the largest per-channel |mean(output) − mean(high-res)|, in 8-bit levels (/255).',
    '',
    '| row | config | PSNR (dB) | SSIM | SWD×1e3 ↓ | colour /255 ↓ | s/image | nfe |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...r.rows.map((x) => `| ${x.label} | ${x.config} | ${fmt(x.psnr, 2)} | ${fmt(x.ssim, 4)} | ${x.swd === null ? '–' : fmt(x.swd, 2)} | ${fmt(x.colour, 2)} | ${fmt(x.seconds, 3)}${x.cachedImages ? '*' : ''} | ${fmt(x.nfe, 1)} |`),
    '',
  ];
  const cached = r.rows.filter((x) => x.cachedImages);
  if (cached.length) {
    lines.push(`\\* outputs from the baseline cache (${cached.map((x) => `${x.label}: ${x.cachedImages} of ${x.perImage.length} images`).join(', ')}); their s/image are the seconds stored when they were computed.`, '');
  }
  const curves = solverCurves(r);
  if (curves.size) {
    lines.push(`Plot \`eval_psnr_nfe.png\`: PSNR against nfe at the model's source and noise step; ${[...curves.keys()].map((s) => `${s} ${COLOR_NAMES[s] ?? ''}`.trim()).join(', ')}; dashed: the bicubic and PSU-round-trip baselines (titled and labelled in the figure).`, '');
  }
  if (r.grid.length) lines.push(`Grid \`eval_grid.png\`: per image, ${r.gridColumns.join(' | ')}.`, '');
  return lines.join('\n');
}

/** PSNR against nfe: one line (with markers) per solver, and the bicubic and PSU-round-trip baselines dashed. */
export async function psnrNfePlot(r: EvalResult): Promise<Buffer> {
  const curves = solverCurves(r);
  const series: ChartSeries[] = [];
  const xs = [...curves.values()].flat().map((x) => x.nfe);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  for (const kind of ['bicubic', 'psu-rt'] as const) {
    const b = r.rows.find((x) => x.kind === kind);
    if (b && Number.isFinite(b.psnr)) series.push({ label: `${rowTitle(kind)}: ${b.psnr.toFixed(2)} dB`, x: [x0, x1], y: [b.psnr, b.psnr], color: kind === 'bicubic' ? '#7f7f7f' : '#bcbd22', dashed: true, markers: false });
  }
  for (const [solver, rows] of curves) series.push({ label: `fmboost, ${solver}`, x: rows.map((x) => x.nfe), y: rows.map((x) => x.psnr), color: SOLVER_COLORS[solver] ?? '#000', markers: true });
  return svgToPng(lineChartSvg(series, {
    title: `PSNR against UNet evaluations — ${r.model}`,
    subtitle: `${r.images.length} image(s), ${r.flow.factor}× from a ${r.degradation} downsample; ${r.precision}`,
    xLabel: 'UNet evaluations per image (nfe)', yLabel: 'PSNR (dB)',
  }));
}

/** Height of the label strip above the grid's columns. */
export const GRID_HEADER_PX = 18;


/** The comparison grid as PNG, with each column's label (SVG text rendered by sharp / librsvg) above it. */
export async function labelledGrid(rows: Tensor[][], labels: string[]): Promise<Buffer> {
  const g = imageGrid(rows);
  const cols = rows[0].length, w = rows[0][0].shape[2];
  if (labels.length !== cols) throw new RangeError(`labelledGrid: ${labels.length} labels for ${cols} columns`);
  const gap = cols > 1 ? (g.width - cols * w) / (cols - 1) : 0;
  const size = Math.min(12, Math.max(7, Math.floor((w / Math.max(...labels.map((l) => l.length), 1)) * 1.7)));
  const text = labels.map((l, k) => `<text x="${k * (w + gap) + w / 2}" y="${GRID_HEADER_PX - 5}" font-size="${size}" font-family="DejaVu Sans, sans-serif" text-anchor="middle" fill="#000">${escapeXml(l)}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${GRID_HEADER_PX}">${text}</svg>`;
  return sharp(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.length), { raw: { width: g.width, height: g.height, channels: 3 } })
    .extend({ top: GRID_HEADER_PX, background: { r: 255, g: 255, b: 255 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .removeAlpha()
    .png()
    .toBuffer();
}

/** Writes the four files into dir (created). */
export async function writeEvalReport(r: EvalResult, dir: string): Promise<EvalFiles> {
  mkdirSync(dir, { recursive: true });
  const files: EvalFiles = { md: join(dir, 'eval.md'), json: join(dir, 'eval.json'), plot: join(dir, 'eval_psnr_nfe.png'), grid: null };
  writeFileSync(files.md, evalMarkdown(r));
  const { grid: _grid, ...json } = r;
  // JSON has no Infinity (a perfect reconstruction's PSNR): write it as null.
  writeFileSync(files.json, JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  writeFileSync(files.plot, await psnrNfePlot(r));
  if (r.grid.length) {
    files.grid = join(dir, 'eval_grid.png');
    writeFileSync(files.grid, await labelledGrid(r.grid, r.gridColumns.map(rowTitle)));
  }
  return files;
}
