// Charts with a title, axis labels, a legend and real fonts (SVG rendered by sharp): what the SVG says, and that
// the PNG has text where the title is and the series' colour inside the plot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { barChartSvg, lineChartSvg, svgToPng, tickLabel } from '../../src/util/chart.js';

test('line chart: title, subtitle, axis labels, legend entries, log ticks; rendered with text and the series colour', async () => {
  const steps = Array.from({ length: 50 }, (_, i) => i * 20);
  const svg = lineChartSvg([
    { label: 'training loss', x: steps, y: steps.map((s) => 1 / (1 + s)), color: '#d62728' },
    { label: 'bicubic <baseline>', x: [0, 980], y: [0.01, 0.01], dashed: true },
  ], { title: 'Training loss — run', subtitle: 'configs/x.yaml', xLabel: 'step', yLabel: 'loss', logY: true, width: 500, height: 320 });
  for (const s of ['>Training loss — run<', '>configs/x.yaml<', '>step<', '>loss (log scale)<', '>training loss<', '>bicubic &lt;baseline&gt;<', 'stroke-dasharray']) assert.ok(svg.includes(s), `SVG lacks ${s}`);
  assert.match(svg, />0\.01</, 'log ticks are labelled with their values');
  const png = await svgToPng(svg);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [500, 320]);
  let dark = 0, red = 0;
  for (let y = 8; y < 30; y++) for (let x = 100; x < 400; x++) if (data[(y * 500 + x) * info.channels] < 100) dark++;
  for (let i = 0; i < data.length; i += info.channels) if (data[i] > 180 && data[i + 1] < 80 && data[i + 2] < 80) red++;
  assert.ok(dark > 50, `title text drawn (${dark} dark pixels)`);
  assert.ok(red > 100, `the red series drawn (${red} pixels)`);
});

test('bar chart: one bar per label with its value, and the reference line', () => {
  const svg = barChartSvg([{ label: 'conv3x3 fwd', value: 1.25 }, { label: 'vae decode', value: 0.8 }, { label: 'broken', value: NaN }], {
    title: 'ours / PyTorch', xLabel: 'speed ratio (higher is faster)', reference: { value: 1, label: 'parity' },
  });
  for (const s of ['>conv3x3 fwd<', '>1.25<', '>0.80<', '>n/a<', '>parity<', '>speed ratio (higher is faster)<']) assert.ok(svg.includes(s), `SVG lacks ${s}`);
  assert.equal(tickLabel(12000), '12k');
  assert.equal(tickLabel(0.001), '1e-3');
});
