// The fmboost page: pick or drop an image, send it to POST /api/upscale, follow the job's server-sent
// events (progress, ETA, Cancel), then show a before/after comparison you drag on the image and a download link.
// A server started with --token is used as /#token=<token>. No framework, no build step.
const $ = (id) => document.getElementById(id);
const form = $('form'), file = $('file'), drop = $('drop'), go = $('go'), cancel = $('cancel');
const progress = $('progress'), status = $('status'), error = $('error');
const compareBox = $('compare-box'), compare = $('compare'), result = $('result'), before = $('before');
const download = $('download'), sizes = $('sizes'), scaleSel = $('scale'), format = $('format'), quality = $('quality');
let chosen = null, chosenSize = null;
let limits = null;
let inputUrl = null;
let stream = null;
let job = null;

// the bearer token, if the page was opened as /#token=…: a header for fetch, ?token= where a browser sets none
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const api = (url, init = {}) => fetch(url, token ? { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } } : init);
const withToken = (url) => (token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url);

/** m:ss of a duration in seconds. */
function duration(s) {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}

/** Scales whose output would pass the server's output limit for the chosen image; the others are disabled. */
function filterScales() {
  const note = $('scale-note');
  note.textContent = '';
  if (!chosenSize || !limits) return;
  const px = chosenSize.w * chosenSize.h;
  if (px > limits.maxPixels) {
    error.textContent = `image too large: ${chosenSize.w}×${chosenSize.h} is ${(px / 1e6).toFixed(1)} MP; this server accepts at most ${(limits.maxPixels / 1e6).toFixed(1)} MP.`;
    go.disabled = true;
    return;
  }
  let allowed = 0;
  for (const o of scaleSel.options) {
    const s = Number(o.value);
    o.disabled = px * s * s > limits.maxOutputPixels;
    if (!o.disabled) allowed++;
  }
  if (scaleSel.selectedOptions[0]?.disabled) {
    const ok = [...scaleSel.options].filter((o) => !o.disabled);
    if (ok.length) scaleSel.value = ok[ok.length - 1].value;
  }
  const off = [...scaleSel.options].filter((o) => o.disabled).map((o) => o.textContent);
  if (off.length) note.textContent = `${off.join(', ')} would make more than this server's ${(limits.maxOutputPixels / 1e6).toFixed(0)} MP for a ${chosenSize.w}×${chosenSize.h} image.`;
  go.disabled = allowed === 0;
}

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
  chosenSize = null;
  if (inputUrl) URL.revokeObjectURL(inputUrl);
  inputUrl = URL.createObjectURL(f);
  $('drop-text').textContent = `${f.name} (${Math.round(f.size / 1024)} KiB) — drop or choose another`;
  let thumb = drop.querySelector('img');
  if (!thumb) { thumb = document.createElement('img'); thumb.alt = 'Selected image'; drop.append(thumb); }
  thumb.onload = () => { chosenSize = { w: thumb.naturalWidth, h: thumb.naturalHeight }; filterScales(); };
  thumb.src = inputUrl;
  go.disabled = false;
}

// The model (name, scales, defaults, quality) and the server's limits.
api('/api/info').then((r) => r.json()).then((info) => {
  limits = info.limits;
  $('steps').max = String(info.limits.maxSteps);
  const m = info.model;
  if (!m) return;
  if (m.scales.length) scaleSel.replaceChildren(...m.scales.map((s, i) => new Option(`${s}×`, String(s), i === 0, i === 0)));
  $('steps').value = String(m.defaults.steps);
  if ([...$('solver').options].some((o) => o.value === m.defaults.solver)) $('solver').value = m.defaults.solver;
  $('model-info').textContent = `${m.name} · scales ${m.scales.map((s) => `${s}×`).join(', ')} · ${m.defaults.steps} ${m.defaults.solver} step${m.defaults.steps === 1 ? '' : 's'} by default${m.precision ? ` · ${m.precision}` : ''}`;
  $('model-quality').textContent = m.quality ?? '';
  $('model-box').hidden = false;
  filterScales();
}).catch(() => { /* the form still works with its built-in defaults */ });

file.addEventListener('change', () => choose(file.files[0]));
for (const ev of ['dragenter', 'dragover']) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); choose(e.dataTransfer.files[0]); });
format.addEventListener('change', () => { quality.disabled = format.value === 'png'; });

// The divider follows the pointer on the image itself (and the arrow keys).
function setSplit(pct) {
  const v = Math.max(0, Math.min(100, pct));
  compare.style.setProperty('--split', `${v}%`);
  compare.setAttribute('aria-valuenow', String(Math.round(v)));
  compare.setAttribute('aria-valuetext', `${Math.round(v)}% before`);
}
const fromPointer = (e) => { const r = compare.getBoundingClientRect(); setSplit(((e.clientX - r.left) / r.width) * 100); };
compare.addEventListener('pointerdown', (e) => { compare.setPointerCapture(e.pointerId); fromPointer(e); });
compare.addEventListener('pointermove', (e) => { if (compare.hasPointerCapture(e.pointerId)) fromPointer(e); });
compare.addEventListener('keydown', (e) => {
  const now = Number(compare.getAttribute('aria-valuenow'));
  const to = { ArrowLeft: now - 5, ArrowRight: now + 5, Home: 0, End: 100 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  setSplit(to);
});

const STAGES = { load: 'Loading', encode: 'Encoding', flow: 'Integrating the flow', decode: 'Decoding', resample: 'Resizing' };

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
  for (const name of ['steps', 'solver', 'scale', 'seed', 'format']) body.append(name, $(name).value);
  if (format.value !== 'png') body.append('quality', quality.value);
  try {
    const res = await api('/api/upscale', { method: 'POST', body });
    const reply = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(reply.error || `the server answered ${res.status}`);
    follow(reply);
  } catch (err) {
    fail(err.message);
  }
});

cancel.addEventListener('click', async () => {
  if (!job) return;
  cancel.disabled = true;
  status.textContent = 'Cancelling…';
  try { await api(job.status, { method: 'DELETE' }); } catch { /* the event stream reports what happened */ }
});

function follow(j) {
  job = j;
  cancel.hidden = false;
  cancel.disabled = false;
  status.textContent = j.position > 0 ? `Queued (${j.position} ahead)…` : 'Queued…';
  let started = null, f0 = 0; // the clock starts at the first progress event, at its fraction
  stream = new EventSource(withToken(j.events));
  stream.addEventListener('progress', (e) => {
    const p = JSON.parse(e.data);
    const f = typeof p.fraction === 'number' ? p.fraction : p.total ? p.step / p.total : 0;
    if (started === null) { started = performance.now(); f0 = f; }
    progress.max = 1;
    progress.value = f;
    const elapsed = (performance.now() - started) / 1000;
    const eta = f - f0 > 0.02 && elapsed > 0.25 ? ` · about ${duration((elapsed * (1 - f)) / (f - f0))} left` : '';
    status.textContent = `${STAGES[p.stage] ?? p.stage}: ${p.step} / ${p.total} · ${Math.round(f * 100)}%${eta}`;
  });
  stream.addEventListener('done', (e) => { stream.close(); show(JSON.parse(e.data)); });
  stream.addEventListener('failed', (e) => { stream.close(); fail(JSON.parse(e.data).error); });
  stream.addEventListener('cancelled', () => { stream.close(); fail('Cancelled.'); });
  stream.onerror = () => { if (stream.readyState === EventSource.CLOSED) fail('Lost the connection to the server.'); };
}

function show(j) {
  const url = withToken(`${j.output.url}?t=${Date.now()}`);
  result.onload = () => {
    progress.hidden = true;
    cancel.hidden = true;
    status.textContent = `Done in ${j.seconds?.toFixed(1) ?? '?'} s.`;
    sizes.textContent = `${j.input.width}×${j.input.height} → ${j.output.width}×${j.output.height}`;
    compareBox.hidden = false;
    go.disabled = false;
  };
  result.onerror = () => fail('Could not load the result image.');
  compare.style.setProperty('--aspect', String(j.output.width / j.output.height));
  setSplit(50);
  before.src = inputUrl;
  result.src = url;
  download.href = url;
  const ext = { png: 'png', jpeg: 'jpg', webp: 'webp' }[format.value] ?? 'png';
  download.download = `${chosen.name.replace(/\.[^.]*$/, '')}_x${j.output.width / j.input.width}.${ext}`;
  download.textContent = `Download result (${ext.toUpperCase()})`;
}

function fail(message) {
  progress.hidden = true;
  cancel.hidden = true;
  status.textContent = '';
  error.textContent = message;
  go.disabled = !chosen;
}
