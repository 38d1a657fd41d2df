// Live latent control (Streamlit components v2). When the page sends `browser` (the exported
// ONNX decoders, explorer/onnx_export.py), the control imports static/model_runtime.js after its
// first, server-decoded image is drawn, and from then on decodes the exact image of every
// animation frame of any move (any slider, the 2-D pad, λ for every channel) in the browser,
// with the classifier's reading beside it; the server is asked only on release, where Python
// stays the source of truth. Once the runtime is ready a release sends the values marked `shown`
// and Python answers without images (`exact` null, no pad sprite): the control decodes the values
// Python settled on itself. The classifier reads the image at most every READ_MS while dragging,
// and once more when the pointer rests. If WebAssembly or a model cannot load, the control says so once,
// tells Python (state `runtime` = "failed") and falls back to the server path: filmstrip frames
// from sprites while a slider moves, the exact value decoded by Python on release. Fresh
// filmstrips come from a second component (live_films.js) later in the same run; a filmstrip is
// used only while the other sliders sit where it was made (filmsAt).
// Timings land in window.__leStats (and the runtime's in window.__leRuntime) for bench/.

const stats = (window.__leStats = window.__leStats || {
  inputToFrame: [], releaseToExact: [], releaseToFresh: [], exacts: [], films: [], frames: 0,
  browserFrames: 0, serverImages: 0, serverImageChars: 0, reads: 0,
});
const KEEP = 2000; // timing samples kept per list
const READ_MS = 120; // the classifier runs at most this often while dragging (8/s)
const controls = (window.__leControls = window.__leControls || {}); // id -> state, for live_strip.js

function record(list, value) {
  list.push(value);
  if (list.length > KEEP) list.splice(0, list.length - KEEP);
}

function loadImage(src) {
  const img = new Image();
  img.src = src;
  return img;
}

function frameIndex(value, low, high, k) {
  if (high <= low) return 0;
  const t = (value - low) / (high - low);
  return Math.max(0, Math.min(k - 1, Math.round(t * (k - 1))));
}

function build(root, data) {
  root.innerHTML = "";
  const views = document.createElement("div");
  views.className = "le-views";
  const canvases = data.channels.map((caption) => {
    const figure = document.createElement("figure");
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = data.size;
    canvas.className = "le-canvas";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", caption);
    const label = document.createElement("figcaption");
    label.textContent = caption;
    const reads = document.createElement("figcaption");
    reads.className = "le-reads";
    figure.append(canvas, label, reads);
    views.append(figure);
    return canvas;
  });
  const controls = document.createElement("div");
  controls.className = "le-controls";
  const inputs = data.sliders.map((s, i) => {
    const row = document.createElement("label");
    row.className = "le-row";
    const name = document.createElement("span");
    name.className = "le-name";
    name.textContent = s.label;
    const input = document.createElement("input");
    input.type = "range";
    input.className = "le-range";
    input.dataset.index = String(i);
    input.setAttribute("aria-label", s.label);
    const out = document.createElement("output");
    out.className = "le-value";
    row.append(name, input, out);
    controls.append(row);
    return { input, out };
  });
  let pad = null;
  if (data.pad) {
    pad = document.createElement("canvas");
    pad.className = "le-pad";
    pad.width = pad.height = data.pad.size;
    pad.tabIndex = 0;
    pad.setAttribute("role", "slider");
    pad.setAttribute("aria-label", `2-D pad: ${data.pad.labels.join(", ")}`);
    views.append(pad); // beside the image where there is room (a projector), below it on a phone
  }
  const note = document.createElement("div");
  note.className = "le-note";
  note.hidden = true;
  root.append(views, controls, note);
  const reads = [...views.querySelectorAll(".le-reads")];
  return { canvases, inputs, pad, note, reads, signature: signature(data) };
}

function signature(data) {
  return JSON.stringify([data.channels, data.sliders.map((s) => s.label), !!data.pad, data.size]);
}

export default function ({ data: raw, parentElement, setStateValue }) {
  const data = JSON.parse(raw.json); // sent as one string (see explorer/ui/controls.py)
  let root = parentElement.querySelector(".le-root");
  if (!root) {
    root = document.createElement("div");
    root.className = "le-root";
    parentElement.appendChild(root);
  }
  const st = root.__le || (root.__le = { dragging: false, sent: null, dom: null, root });
  if (!st.dom || st.dom.signature !== signature(data)) {
    st.dom = build(root, data);
    wire(root, st, setStateValue);
  }
  st.data = data;
  controls[data.id] = st;
  // Python remembers a runtime that failed: a control drawn again elsewhere still says so.
  if (data.runtimeFailed) showFailure(st);
  root.dataset.path = data.browser ? "browser" : "server"; // which path Python drew it for
  // Quick key steps each send their values; reruns answer them one by one, each with values
  // older than the slider's. Until the answer to the last step sent arrives (or 5 s pass), keep
  // the slider where the user put it, so the next step builds on it and no step is lost.
  const sentValues = data.sliders.map((s) => s.value);
  const awaiting =
    st.pending != null &&
    performance.now() - st.pending.time < 5000 &&
    st.pending.values.some((v, i) => Math.abs(v - sentValues[i]) > 0.006);
  if (!awaiting) st.pending = null;
  const films = data.films || window.__leFilms?.[data.id];
  if (films) takeFilms(st, films);
  if (data.pad?.sprites) st.padSprites = data.pad.sprites.map(loadImage);
  else if (!data.pad) st.padSprites = [];
  // else: Python did not send the pad's sprite again (the browser decodes); keep the one shown.
  st.dom.inputs.forEach(({ input, out }, i) => {
    const s = data.sliders[i];
    input.min = s.low;
    input.max = s.high;
    input.step = s.step;
    input.style.direction = s.reverse ? "rtl" : ""; // rtl: high on the left (λ = 1, a)
    if (!st.dragging && !awaiting) input.value = s.value;
    out.textContent = Number(input.value).toFixed(2);
  });
  if (data.exact === null) {
    confirmInBrowser(st, root, setStateValue);
    if (data.pad) drawPad(st);
    return undefined;
  }
  stats.serverImages += data.exact.length;
  stats.serverImageChars += data.exact.reduce((n, url) => n + url.length, 0);
  const exact = data.exact.map(loadImage);
  const drawExact = () => {
    if (st.dragging) return;
    exact.forEach((img, c) => {
      const canvas = st.dom.canvases[c];
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      canvas.dataset.source = "exact";
      canvas.dataset.exact = data.exact[c];
    });
    stats.firstExactEpochMs = stats.firstExactEpochMs || performance.timeOrigin + performance.now();
    const values = JSON.stringify(data.sliders.map((s) => s.value));
    record(stats.exacts, { values, fresh: values === JSON.stringify(st.filmsAt) });
    if (st.sent !== null) {
      record(stats.releaseToExact, performance.now() - st.sent);
      st.released = st.sent;
      st.sent = null;
    }
    root.dataset.values = values;
    noteFresh(st, root);
  };
  Promise.all(exact.map((img) => img.decode().catch(() => null))).then(drawExact).then(() => {
    if (data.browser && !st.runtime) startRuntime(st, root, setStateValue); // after the first image
  });
  if (data.pad) drawPad(st);
  return undefined;
}

/** Python answered a release without images: it settled on data.sliders' values (clamped,
 * rounded), which this browser decodes itself, now or as soon as its runtime is ready. */
function confirmInBrowser(st, root, setStateValue) {
  const values = st.data.sliders.map((s) => s.value);
  root.dataset.values = JSON.stringify(values);
  if (st.data.pad && !st.dragging) st.padValue = [values[0], values[1]];
  if (st.sent !== null) {
    st.released = st.sent;
    st.sent = null;
  }
  const decode = () => requestDecode(st, values, performance.now(), { confirm: true });
  if (st.rt) return decode();
  st.afterReady = decode; // a control mounted afresh: decode once its runtime is ready
  if (!st.runtime) startRuntime(st, root, setStateValue);
}

function takeFilms(st, films) {
  const signature = films.frames.flat().join("|");
  if (st.filmsSignature === signature) return; // the same sprites again (a rerun, same values)
  st.filmsSignature = signature;
  st.sprites = films.frames.map((perChannel) => perChannel.map(loadImage));
  st.filmsAt = films.filmsAt;
}

function noteFresh(st, root) {
  const at = JSON.stringify(st.filmsAt);
  root.dataset.filmsAt = at;
  if (st.released != null && root.dataset.values === at) {
    record(stats.releaseToFresh, performance.now() - st.released);
    st.released = null;
  }
}

function filmFits(st, index) {
  const at = st.filmsAt;
  if (!at || !st.sprites?.[index]) return false; // filmstrips still on their way
  return st.dom.inputs.every(({ input }, j) => j === index || Math.abs(Number(input.value) - at[j]) < 1e-6);
}

function drawFrames(st, index, value, eventTime) {
  if (st.rt && st.data.browser) return requestDecode(st, currentValues(st), eventTime);
  if (!filmFits(st, index)) return;
  const s = st.data.sliders[index];
  const k = st.data.k;
  const f = frameIndex(value, s.low, s.high, k);
  st.dom.canvases.forEach((canvas, c) => {
    const sprite = st.sprites[index][c];
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(sprite, f * 28, 0, 28, 28, 0, 0, canvas.width, canvas.height);
    canvas.dataset.source = "film";
    canvas.dataset.frame = String(f);
  });
  stats.frames += 1;
  record(stats.inputToFrame, performance.now() - eventTime);
}

// The pad shows what it picks: the decoded n x n sprite (evenly spaced over [low, high]^2) under
// the pointer, and its axes labelled with the sliders' names and ends.
function drawPad(st) {
  const { pad } = st.dom;
  const p = st.data.pad;
  const ctx = pad.getContext("2d");
  ctx.clearRect(0, 0, pad.width, pad.height);
  const sprite = st.padSprites[0];
  if (sprite && sprite.complete && sprite.naturalWidth) {
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = 0.75;
    ctx.drawImage(sprite, 0, 0, pad.width, pad.height);
    ctx.globalAlpha = 1;
  } else if (sprite) {
    sprite.addEventListener("load", () => drawPad(st), { once: true });
  }
  pad.dataset.drawn = sprite && sprite.complete && sprite.naturalWidth ? "digits" : "blank";
  ctx.strokeStyle = "rgba(128,128,128,0.6)";
  ctx.strokeRect(0.5, 0.5, pad.width - 1, pad.height - 1);
  ctx.font = "bold 13px sans-serif";
  ctx.fillStyle = "#ffd54f";
  ctx.textBaseline = "bottom";
  ctx.textAlign = "left";
  ctx.fillText(`${p.low}`, 3, pad.height - 2);
  ctx.textAlign = "right";
  ctx.fillText(`${p.labels[0]} → ${p.high}`, pad.width - 3, pad.height - 2);
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(`${p.labels[1]} ↑ ${p.high}`, 3, 3);
  const x = ((st.padValue?.[0] ?? p.x) - p.low) / (p.high - p.low) * pad.width;
  const y = (1 - ((st.padValue?.[1] ?? p.y) - p.low) / (p.high - p.low)) * pad.height;
  ctx.fillStyle = "#ff4b4b";
  ctx.beginPath();
  ctx.arc(x, y, 6, 0, 2 * Math.PI);
  ctx.fill();
}

function wire(root, st, setStateValue) {
  if (st.onFilms) window.removeEventListener("le-films", st.onFilms);
  st.onFilms = (event) => {
    if (!st.data || event.detail.target !== st.data.id) return;
    takeFilms(st, event.detail);
    record(stats.films, { at: JSON.stringify(event.detail.filmsAt), time: performance.now() });
    noteFresh(st, root);
  };
  window.addEventListener("le-films", st.onFilms);
  let raf = 0;
  const schedule = (fn) => {
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(fn);
  };
  const release = () => {
    st.dragging = false;
    st.sent = performance.now();
    const values = st.dom.inputs.map(({ input }) => Number(input.value));
    if (st.padValue) {
      values[0] = st.padValue[0];
      values[1] = st.padValue[1];
    }
    st.pending = { values, time: performance.now() };
    if (st.rt && st.data.browser) {
      // The browser already shows these values exactly: Python only stores them.
      setStateValue("values", { values, shown: true });
      window.dispatchEvent(new CustomEvent("le-settled", { detail: { id: st.data.id, values } }));
    } else {
      setStateValue("values", values);
    }
  };
  st.dom.inputs.forEach(({ input, out }, i) => {
    input.addEventListener("input", (event) => {
      st.dragging = true;
      out.textContent = Number(input.value).toFixed(2);
      const t = event.timeStamp;
      schedule(() => drawFrames(st, i, Number(input.value), t));
    });
    input.addEventListener("change", release);
  });
  if (st.dom.pad) wirePad(st, schedule, release);
}

function wirePad(st, schedule, release) {
  const { pad } = st.dom;
  const toValue = (event) => {
    const rect = pad.getBoundingClientRect();
    const p = st.data.pad;
    const fx = Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
    const fy = Math.max(0, Math.min(1, (event.clientY - rect.top) / rect.height));
    return [p.low + fx * (p.high - p.low), p.low + (1 - fy) * (p.high - p.low)];
  };
  const show = (value, t) => {
    st.padValue = value;
    const p = st.data.pad;
    if (st.rt && st.data.browser) {
      st.dom.inputs.slice(0, 2).forEach(({ input, out }, i) => {
        input.value = value[i];
        out.textContent = value[i].toFixed(2);
      });
      drawPad(st);
      requestDecode(st, currentValues(st), t);
      return;
    }
    const n = p.n;
    const col = frameIndex(value[0], p.low, p.high, n);
    const row = n - 1 - frameIndex(value[1], p.low, p.high, n);
    st.dom.canvases.forEach((canvas, c) => {
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(st.padSprites[c], col * 28, row * 28, 28, 28, 0, 0, canvas.width, canvas.height);
      canvas.dataset.source = "film";
      canvas.dataset.frame = `${col},${row}`;
    });
    st.dom.inputs.slice(0, 2).forEach(({ input, out }, i) => {
      input.value = value[i];
      out.textContent = value[i].toFixed(2);
    });
    drawPad(st);
    stats.frames += 1;
    record(stats.inputToFrame, performance.now() - t);
  };
  pad.addEventListener("pointerdown", (event) => {
    st.dragging = true;
    pad.setPointerCapture(event.pointerId);
    const v = toValue(event);
    const t = event.timeStamp;
    schedule(() => show(v, t));
  });
  pad.addEventListener("pointermove", (event) => {
    if (!st.dragging) return;
    const v = toValue(event);
    const t = event.timeStamp;
    schedule(() => show(v, t));
  });
  pad.addEventListener("pointerup", release);
  pad.addEventListener("keydown", (event) => {
    const p = st.data.pad;
    const step = (p.high - p.low) / (p.n - 1);
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const base = st.padValue || [p.x, p.y];
    const clamp = (v) => Math.max(p.low, Math.min(p.high, v));
    const v = [clamp(base[0] + moves[event.key][0]), clamp(base[1] + moves[event.key][1])];
    st.dragging = true;
    show(v, event.timeStamp);
    release();
  });
}

// ---- Decoding in the browser (static/model_runtime.js) ----------------------------------------

function absolute(url) {
  return new URL(url, document.baseURI).href;
}

function currentValues(st) {
  return st.dom.inputs.map(({ input }) => Number(input.value));
}

/** The code of one channel at the slider values: origin + values @ basis, or λ between a and b
 * (explorer/latent.py: lerp, and slerp with its fallback to lerp for (anti)parallel ends). */
function codeFor(spec, values) {
  if (spec.a) {
    const lam = values[0];
    const { a, b } = spec;
    let wa = lam;
    let wb = 1 - lam;
    if (spec.mode === "spherical") {
      const dot = a.reduce((acc, v, i) => acc + v * b[i], 0);
      const na = Math.hypot(...a);
      const nb = Math.hypot(...b);
      const omega = Math.acos(Math.max(-1, Math.min(1, dot / Math.max(na * nb, 1e-12))));
      if (Math.abs(Math.sin(omega)) >= 1e-6) {
        wa = Math.sin(lam * omega) / Math.sin(omega);
        wb = Math.sin((1 - lam) * omega) / Math.sin(omega);
      }
    }
    return Float32Array.from(a, (v, i) => wa * v + wb * b[i]);
  }
  const z = Float32Array.from(spec.origin);
  spec.basis.forEach((row, k) => {
    const c = values[k];
    if (c) row.forEach((v, j) => { z[j] += c * v; });
  });
  return z;
}

async function startRuntime(st, root, setStateValue) {
  st.runtime = "loading";
  root.dataset.runtime = "loading";
  const b = st.data.browser;
  try {
    const rt = await import(absolute(b.runtime));
    const urls = [...b.channels.map((c) => c.decoder), ...(b.classifier ? [b.classifier] : [])];
    await Promise.all(urls.map((u) => rt.session(absolute(u))));
    st.rt = rt;
    st.runtime = "ready";
    root.dataset.runtime = "ready";
    window.dispatchEvent(new CustomEvent("le-ready", { detail: { id: st.data.id } }));
    if (st.afterReady) st.afterReady();
    else requestDecode(st, currentValues(st), performance.now(), { readsOnly: true });
    st.afterReady = null;
  } catch (err) {
    stats.runtimeError = String(err?.message || err);
    showFailure(st); // said once: the control keeps this note, and never retries
    setStateValue("runtime", "failed");
  }
}

function showFailure(st) {
  st.runtime = "failed";
  st.root.dataset.runtime = "failed";
  st.dom.note.hidden = false;
  st.dom.note.textContent =
    "Exact images while dragging need WebAssembly and the models in this browser, which could " +
    "not load here; the server decodes each position on release instead.";
}

/** Ask for the image at ``values``; the newest request wins (a frame never decodes stale values).
 * ``confirm``: the values Python settled on, drawn even when not dragging; ``readsOnly``: only
 * the classifier's reading of the current image. */
function requestDecode(st, values, eventTime, { readsOnly = false, confirm = false } = {}) {
  st.want = { values, eventTime, readsOnly, confirm };
  if (!st.busy) pump(st);
}

async function pump(st) {
  st.busy = true;
  while (st.want) {
    const { values, eventTime, readsOnly, confirm } = st.want;
    st.want = null;
    const b = st.data.browser;
    if (!b) break;
    try {
      const codes = b.channels.map((spec) => codeFor(spec, values));
      const shown = await Promise.all(codes.map((z, c) => st.rt.decode(absolute(b.channels[c].decoder), z, 1)));
      const key = JSON.stringify(values);
      // An exact image of the same values from Python wins; anything else is older than this.
      const draw = confirm ? !st.dragging : !readsOnly && (st.dragging || st.root.dataset.values !== key);
      if (draw) {
        shown.forEach((pixels, c) => {
          const canvas = st.dom.canvases[c];
          st.rt.draw(canvas, pixels);
          canvas.dataset.source = "browser";
          canvas.dataset.values = key;
        });
        st.shown = shown;
        stats.frames += 1;
        stats.browserFrames += 1;
        record(stats.inputToFrame, performance.now() - eventTime);
        if (confirm && st.released != null) {
          record(stats.releaseToExact, performance.now() - st.released);
          st.released = null;
        }
      }
      if (b.classifier) readSoon(st, b, shown, !st.dragging || readsOnly);
    } catch (err) {
      stats.runtimeError = String(err?.message || err);
    }
  }
  st.busy = false;
}

/** The classifier's reading of ``shown``: now when ``now`` or READ_MS have passed since the last
 * one, else once the drag pauses (the last image always gets its reading). */
function readSoon(st, b, shown, now) {
  clearTimeout(st.readTimer);
  const wait = now ? 0 : READ_MS - (performance.now() - (st.readAt || 0));
  if (wait <= 0) {
    st.readAt = performance.now();
    showReads(st, b, shown).catch((err) => { stats.runtimeError = String(err?.message || err); });
  } else {
    st.readTimer = setTimeout(() => readSoon(st, b, st.shown || shown, true), wait);
  }
}

async function showReads(st, b, shown) {
  const x = new Float32Array(shown.length * 784);
  shown.forEach((pixels, c) => pixels.forEach((v, i) => { x[c * 784 + i] = v / 255; }));
  const probs = await st.rt.classify(absolute(b.classifier), x, shown.length);
  stats.reads += 1;
  shown.forEach((_, c) => {
    const p = probs.slice(c * 10, c * 10 + 10);
    const digit = p.indexOf(Math.max(...p));
    st.dom.reads[c].textContent = `reads ${digit} (${(100 * p[digit]).toFixed(0)} %)`;
  });
}
