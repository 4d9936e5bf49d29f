// loss.png and val_psnr.png of an experiment, drawn from its metrics.csv (titled, labelled charts).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg, svgToPng } from '../util/chart.js';
import { readMetricsCsv } from './log/csv.js';

/** Redraws the charts; returns why it could not (the run goes on), or null. */
export async function writeRunCharts(expDir: string, name: string, mode: 'flow' | 'autoencoder'): Promise<string | null> {
  const csv = join(expDir, 'metrics.csv');
  if (!existsSync(csv)) return null;
  try {
    const { rows } = readMetricsCsv(csv);
    const pick = (k: string) => rows.filter((r) => r[k] !== undefined && r.step !== undefined).map((r) => [r.step as number, r[k] as number]);
    const loss = pick('train/loss');
    if (loss.length) {
      writeFileSync(join(expDir, 'loss.png'), await svgToPng(lineChartSvg([{ label: 'training loss (per logged step)', x: loss.map((p) => p[0]), y: loss.map((p) => p[1]), markers: false }],
        { title: `Training loss — ${name}`, xLabel: 'step', yLabel: `loss (${mode === 'flow' ? 'flow-matching MSE' : 'reconstruction + KL'})`, logY: true })));
    }
    const psnr = pick('val/psnr');
    if (psnr.length) {
      writeFileSync(join(expDir, 'val_psnr.png'), await svgToPng(lineChartSvg([{ label: 'validation PSNR', x: psnr.map((p) => p[0]), y: psnr.map((p) => p[1]) }],
        { title: `Validation PSNR — ${name}`, xLabel: 'step', yLabel: 'PSNR (dB)' })));
    }
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
