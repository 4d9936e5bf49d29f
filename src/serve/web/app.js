// The fmboost page: pick or drop an image, send it to POST /api/upscale, follow the job's server-sent
// events, then show a before/after comparison and a download link. No framework, no build step.
const $ = (id) => document.getElementById(id);
const form = $('form'), file = $('file'), drop = $('drop'), go = $('go');
const progress = $('progress'), status = $('status'), error = $('error');
const compareBox = $('compare-box'), compare = $('compare'), result = $('result'), before = $('before');
const split = $('split'), download = $('download'), sizes = $('sizes');
let chosen = null;
let limits = null;
let inputUrl = null;
let stream = null;

function choose(f) {
  error.textContent = '';
  if (!f) return;
  if (!/^image\/(png|jpeg|webp)$/.test(f.type)) {
    error.textContent = `“${f.name}” is not a PNG, JPEG or WebP image.`;
    return;
  }
  if (limits && f.size > limits.maxUploadBytes) {
    error.textContent = `“${f.name}” is ${(f.size / 2 ** 20).toFixed(1)} MiB; this server accepts at most ${(limits.maxUploadBytes / 2 ** 20).toFixed(1)} MiB.`;
    return;
  }
  chosen = f;
  if (inputUrl) URL.revokeObjectURL(inputUrl);
  inputUrl = URL.createObjectURL(f);
  $('drop-text').textContent = `${f.name} (${Math.round(f.size / 1024)} KiB) — drop or choose another`;
  let thumb = drop.querySelector('img');
  if (!thumb) { thumb = document.createElement('img'); thumb.alt = 'Selected image'; drop.append(thumb); }
  thumb.src = inputUrl;
  go.disabled = false;
}

// The model's scales and defaults, and the server's limits.
fetch('/api/info').then((r) => r.json()).then((info) => {
  limits = info.limits;
  $('steps').max = String(info.limits.maxSteps);
  const m = info.model;
  if (!m) return;
  const scale = $('scale');
  if (m.scales.length) scale.replaceChildren(...m.scales.map((s, i) => new Option(`${s}×`, String(s), i === 0, i === 0)));
  $('steps').value = String(m.defaults.steps);
  if ([...$('solver').options].some((o) => o.value === m.defaults.solver)) $('solver').value = m.defaults.solver;
}).catch(() => { /* the form still works with its built-in defaults */ });

file.addEventListener('change', () => choose(file.files[0]));
for (const ev of ['dragenter', 'dragover']) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); choose(e.dataTransfer.files[0]); });

split.addEventListener('input', () => compare.style.setProperty('--split', `${split.value}%`));

const STAGES = { load: 'Loading', encode: 'Encoding', flow: 'Integrating the flow', decode: 'Decoding' };

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!chosen) return;
  stream?.close();
  error.textContent = '';
  compareBox.hidden = true;
  go.disabled = true;
  progress.hidden = false;
  progress.removeAttribute('value'); // indeterminate until the first progress event
  status.textContent = 'Uploading…';
  const body = new FormData();
  body.append('image', chosen, chosen.name);
  for (const name of ['steps', 'solver', 'scale', 'seed']) body.append(name, $(name).value);
  try {
    const res = await fetch('/api/upscale', { method: 'POST', body });
    const reply = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(reply.error || `the server answered ${res.status}`);
    follow(reply);
  } catch (err) {
    fail(err.message);
  }
});

function follow(job) {
  status.textContent = job.position > 0 ? `Queued (${job.position} ahead)…` : 'Queued…';
  stream = new EventSource(job.events);
  stream.addEventListener('progress', (e) => {
    const p = JSON.parse(e.data);
    progress.max = p.total;
    progress.value = p.step;
    status.textContent = `${STAGES[p.stage] ?? p.stage}: ${p.step} / ${p.total}`;
  });
  stream.addEventListener('done', (e) => { stream.close(); show(JSON.parse(e.data)); });
  stream.addEventListener('failed', (e) => { stream.close(); fail(JSON.parse(e.data).error); });
  stream.addEventListener('cancelled', () => { stream.close(); fail('The job was cancelled.'); });
  stream.onerror = () => { if (stream.readyState === EventSource.CLOSED) fail('Lost the connection to the server.'); };
}

function show(job) {
  const url = `${job.output.url}?t=${Date.now()}`;
  result.onload = () => {
    progress.hidden = true;
    status.textContent = `Done in ${job.seconds?.toFixed(1) ?? '?'} s.`;
    sizes.textContent = `${job.input.width}×${job.input.height} → ${job.output.width}×${job.output.height}`;
    compareBox.hidden = false;
    go.disabled = false;
  };
  result.onerror = () => fail('Could not load the result image.');
  compare.style.setProperty('--aspect', String(job.output.width / job.output.height));
  before.src = inputUrl;
  result.src = url;
  download.href = url;
  download.download = `${chosen.name.replace(/\.[^.]*$/, '')}_x${job.output.width / job.input.width}.png`;
}

function fail(message) {
  progress.hidden = true;
  status.textContent = '';
  error.textContent = message;
  go.disabled = !chosen;
}
