// Draws docs/figures/precision_{flow,ae}.png from the runs of scripts/docs/precision_curves.sh: training loss per
// logged step at train.precision fp32 and bf16, the legend giving each run's median step rate (perf/it_per_s).
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readMetricsCsv } from '../../dist/src/train/log/csv.js';
import { lineChartSvg, svgToPng } from '../../dist/src/util/chart.js';

const dir = process.argv[2] ?? 'logs/precision';
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[s.length >> 1] : NaN; };
mkdirSync('docs/figures', { recursive: true });
for (const [stage, title] of [['cfm', 'Flow (CFM UNet) training loss: fp32 vs bf16 + channels_last'], ['vae', 'Autoencoder (f4c8) training loss: fp32 vs bf16 + channels_last']]) {
  const series = [];
  const summary = {};
  for (const p of ['fp32', 'bf16']) {
    const { rows } = readMetricsCsv(join(dir, `${stage}-${p}`, 'metrics.csv'));
    const pts = rows.filter((r) => r['train/loss'] !== undefined);
    const rate = median(rows.map((r) => r['perf/it_per_s']).filter((v) => v > 0));
    summary[p] = { steps: pts.at(-1)?.step, itPerSec: rate, finalLoss: pts.at(-1)?.['train/loss'], meanLast5: pts.slice(-5).reduce((a, r) => a + r['train/loss'], 0) / Math.min(5, pts.length) };
    series.push({ label: `${p === 'bf16' ? 'bf16 + channels_last' : 'fp32'}: ${rate.toFixed(2)} it/s`, x: pts.map((r) => r.step), y: pts.map((r) => r['train/loss']), markers: false });
  }
  const svg = lineChartSvg(series, { title, xLabel: 'step', yLabel: stage === 'cfm' ? 'flow-matching MSE (per 10 steps)' : 'L1 + KL (per 10 steps)', logY: true });
  writeFileSync(`docs/figures/precision_${stage === 'cfm' ? 'flow' : 'ae'}.png`, await svgToPng(svg));
  console.log(stage, JSON.stringify(summary));
}
