// Draw a digit with the mouse or a finger (Streamlit components v2), white ink on black like
// MNIST, and watch the models read it while you draw (issue 11). On every animation frame of a
// stroke the drawing is cleaned up as MNIST's digits were (static/digit_preprocess.js, the port of
// explorer.images.preprocess_digit), and, once ONNX Runtime Web has loaded
// (static/model_runtime.js), encoded and decoded by the AE and the VAE and placed on both 2-D
// latent planes, all in the browser. At the end of each stroke the drawing goes to Python as
// SIDE x SIDE grayscale bytes (base64), the very bytes the browser preprocessed; Python, the
// source of truth, preprocesses and encodes them and sends back its images and points, which
// replace the browser's (data-source "exact"). If the runtime cannot load, the control says so
// once and shows only Python's views (data-source stays "exact"). Clear empties it.
// Without `recons` in the data (the server path) it is the canvas alone. The latest live values
// are in window.__leDraw for tests.

const SIDE = 56;
const live = (window.__leDraw = window.__leDraw || { updates: 0 });

function absolute(url) {
  return new URL(url, document.baseURI).href;
}

/** The drawing as SIDE x SIDE grey levels (the red channel, the canvas being grey). */
function sample(canvas) {
  const small = document.createElement("canvas");
  small.width = small.height = SIDE;
  const ctx = small.getContext("2d");
  ctx.drawImage(canvas, 0, 0, SIDE, SIDE);
  const rgba = ctx.getImageData(0, 0, SIDE, SIDE).data;
  const gray = new Uint8Array(SIDE * SIDE);
  for (let i = 0; i < gray.length; i += 1) gray[i] = rgba[4 * i];
  return gray;
}

function send(st, gray) {
  let text = "";
  if (gray) for (const v of gray) text += String.fromCharCode(v);
  st.canvas.dataset.sent = String(Number(st.canvas.dataset.sent || 0) + 1);
  st.setStateValue("drawing", { side: SIDE, pixels: gray ? btoa(text) : "" });
}

/** Grey levels in [0, 1] -> 0..255, rounded as explorer.images.to_uint8 rounds. */
function toUint8(values) {
  return Uint8ClampedArray.from(values, (v) => Math.floor(Math.min(1, Math.max(0, v)) * 255 + 0.5));
}

function drawPixels(canvas, pixels) {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 28;
  const tctx = tile.getContext("2d");
  const image = tctx.createImageData(28, 28);
  pixels.forEach((v, i) => {
    image.data.fill(v, 4 * i, 4 * i + 3);
    image.data[4 * i + 3] = 255;
  });
  tctx.putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tile, 0, 0, canvas.width, canvas.height);
}

function blank(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.source = "none";
}

/** A 2-D latent plane: the held-out codes coloured by digit, the prior's box, and the point. */
function drawPlane(canvas, plane, colors, point) {
  const ctx = canvas.getContext("2d");
  const n = canvas.width;
  const [low, high] = plane.window;
  const at = (x, y) => [((x - low) / (high - low)) * n, (1 - (y - low) / (high - low)) * n];
  ctx.fillStyle = "#111";
  ctx.fillRect(0, 0, n, n);
  ctx.setLineDash([4, 3]);
  ctx.strokeStyle = "rgba(255,255,255,0.6)";
  const [x0, y0] = at(-plane.prior, plane.prior);
  const [x1, y1] = at(plane.prior, -plane.prior);
  ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
  ctx.setLineDash([]);
  plane.codes.forEach(([x, y], i) => {
    const [px, py] = at(x, y);
    ctx.fillStyle = colors[plane.labels[i]];
    ctx.fillRect(px - 1.5, py - 1.5, 3, 3);
  });
  if (point) {
    const [px, py] = at(point[0], point[1]);
    ctx.lineWidth = 3;
    ctx.strokeStyle = "#000";
    ctx.beginPath();
    ctx.arc(px, py, 7, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#fff";
    ctx.stroke();
  }
  canvas.dataset.point = point ? JSON.stringify(point) : "";
}

function figure(parent, size, caption, className) {
  const fig = document.createElement("figure");
  fig.style.cssText = "margin:0;display:flex;flex-direction:column;align-items:center;gap:0.2rem";
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  canvas.className = className;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", caption);
  canvas.style.cssText = `width:${size}px;height:${size}px;border-radius:4px;background:#000`;
  const label = document.createElement("figcaption");
  label.className = "dc-caption";
  label.textContent = caption;
  label.style.cssText = `max-width:${size}px;text-align:center;font-size:0.85rem;opacity:0.8`;
  fig.append(canvas, label);
  parent.append(fig);
  return { canvas, label };
}

function build(root, data, st) {
  const row = document.createElement("div");
  row.style.cssText = "display:flex;flex-wrap:wrap;gap:0.8rem;align-items:flex-start";
  const pad = document.createElement("div");
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = data.size;
  canvas.className = "dc-canvas";
  canvas.setAttribute("aria-label", "Draw a digit here");
  canvas.style.cssText = `width:${data.size}px;height:${data.size}px;background:#000;` +
    "touch-action:none;border-radius:4px;cursor:crosshair;display:block";
  const button = document.createElement("button");
  button.textContent = "Clear";
  button.className = "dc-clear";
  button.style.cssText = "margin-top:0.4rem;padding:0.25rem 0.9rem;border-radius:0.5rem;" +
    "border:1px solid rgba(49,51,63,0.3);background:transparent;color:inherit;cursor:pointer";
  pad.append(canvas, button);
  row.append(pad);
  st.canvas = canvas;
  st.views = null;
  if (data.recons) {
    const views = document.createElement("div");
    views.className = "dc-views";
    views.style.cssText = "display:flex;flex-wrap:wrap;gap:0.6rem";
    st.views = {
      digit: figure(views, data.tile, "what the models see", "dc-digit").canvas,
      recons: data.recons.map((c) => figure(views, data.tile, c, "dc-recon").canvas),
      planes: data.planes.map((p) => figure(views, data.tile, `${p.label}: its code`, "dc-plane")),
    };
    row.append(views);
  }
  const note = document.createElement("div");
  note.className = "dc-note";
  note.hidden = true;
  note.style.cssText = "font-size:0.85rem;opacity:0.8;margin-top:0.3rem";
  root.append(row, note);
  st.note = note;
  wire(st, button);
}

function wire(st, button) {
  const { canvas } = st;
  const size = canvas.width;
  const ctx = canvas.getContext("2d");
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, size, size); };
  clear();
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = size / 14;
  ctx.lineCap = ctx.lineJoin = "round";
  let raf = 0;
  const at = (e) => {
    const box = canvas.getBoundingClientRect();
    return [(e.clientX - box.left) * size / box.width, (e.clientY - box.top) * size / box.height];
  };
  const schedule = () => {
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(() => update(st));
  };
  canvas.addEventListener("pointerdown", (e) => {
    st.drawing = true;
    st.stroke = (st.stroke || 0) + 1;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 0.1, y);
    ctx.stroke();
    schedule();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!st.drawing) return;
    const [x, y] = at(e);
    ctx.lineTo(x, y);
    ctx.stroke();
    schedule();
  });
  const end = () => {
    if (!st.drawing) return;
    st.drawing = false;
    send(st, sample(canvas));
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  button.addEventListener("click", () => {
    clear();
    if (st.views) {
      blank(st.views.digit);
      st.views.recons.forEach(blank);
      st.views.planes.forEach((p, i) => drawPlane(p.canvas, st.data.planes[i], st.data.colors, null));
    }
    send(st, null);
  });
}

/** Python's views (after a stroke, or on any rerun): they replace the browser's. */
function showExact(st) {
  const { views, data } = st;
  if (!views) return;
  const exact = data.exact;
  const sig = JSON.stringify(exact);
  if (st.shownExact === sig) return;
  st.shownExact = sig;
  if (!exact) {
    blank(views.digit);
    views.recons.forEach(blank);
  } else {
    [[views.digit, exact.digit], ...views.recons.map((c, i) => [c, exact.recons[i]])]
      .forEach(([canvas, src]) => {
        const img = new Image();
        img.onload = () => {
          if (st.drawing) return; // a new stroke has begun: the browser's views are newer
          const ctx = canvas.getContext("2d");
          ctx.imageSmoothingEnabled = false;
          ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
          canvas.dataset.source = "exact";
          canvas.dataset.exact = src;
        };
        img.src = src;
      });
  }
  views.planes.forEach((p, i) => {
    const point = exact ? exact.points[i] : null;
    drawPlane(p.canvas, data.planes[i], data.colors, point);
    p.canvas.dataset.source = exact ? "exact" : "none";
    p.label.textContent = point
      ? `${data.planes[i].label}: (${point[0].toFixed(2)}, ${point[1].toFixed(2)})`
      : `${data.planes[i].label}: its code`;
  });
}

async function loadRuntime(st) {
  const b = st.data.browser;
  st.runtime = "loading";
  st.root.dataset.runtime = "loading";
  try {
    st.pre = await import(absolute(b.preprocess)); // the 28x28 follows the stroke even alone
    const rt = await import(absolute(b.runtime));
    const urls = [...b.recons.flatMap((r) => [r.encoder, r.decoder]), ...b.planes];
    await Promise.all(urls.map((u) => rt.session(absolute(u))));
    st.rt = rt;
    st.runtime = "ready";
  } catch (err) {
    st.runtime = "failed";
    live.error = String(err?.message || err);
    st.note.hidden = false; // said once: the control keeps this note and never retries
    st.note.textContent =
      "The models could not load in this browser (WebAssembly or the model files), so the " +
      "reconstructions appear when you lift the pen, computed on the server.";
    st.setStateValue("runtime", "failed");
  }
  st.root.dataset.runtime = st.runtime;
}

/** One live update: preprocess the drawing, then encode and decode it with every model. */
async function update(st) {
  if (!st.views || !st.pre) return;
  if (st.busy) { st.again = true; return; }
  st.busy = true;
  try {
    do {
      st.again = false;
      await updateOnce(st);
    } while (st.again && st.drawing);
  } finally {
    st.busy = false;
  }
}

async function updateOnce(st) {
  const stroke = st.stroke;
  const gray = sample(st.canvas);
  const digit = st.pre.preprocess(gray, SIDE, SIDE);
  const fresh = () => st.drawing && st.stroke === stroke; // else Python's answer is on its way
  if (!fresh()) return;
  drawPixels(st.views.digit, toUint8(digit));
  st.views.digit.dataset.source = "browser";
  const result = { gray: Array.from(gray), digit: Array.from(digit), recons: [], points: [] };
  if (st.rt && digit.some((v) => v > 0)) {
    const b = st.data.browser;
    for (const [i, r] of b.recons.entries()) {
      const code = await st.rt.encode(absolute(r.encoder), digit, 1);
      const pixels = await st.rt.decode(absolute(r.decoder), code, 1);
      if (!fresh()) return;
      drawPixels(st.views.recons[i], pixels);
      st.views.recons[i].dataset.source = "browser";
      result.recons.push(Array.from(pixels));
    }
    for (const [i, url] of b.planes.entries()) {
      const point = Array.from(await st.rt.encode(absolute(url), digit, 1));
      if (!fresh()) return;
      const p = st.views.planes[i];
      drawPlane(p.canvas, st.data.planes[i], st.data.colors, point);
      p.canvas.dataset.source = "browser";
      p.label.textContent =
        `${st.data.planes[i].label}: (${point[0].toFixed(2)}, ${point[1].toFixed(2)})`;
      result.points.push(point);
    }
  }
  Object.assign(live, result, { updates: live.updates + 1, time: performance.now() });
}

export default function ({ data: raw, parentElement, setStateValue }) {
  const data = JSON.parse(raw.json); // sent as one string (see explorer/ui/browser_views.py)
  let root = parentElement.querySelector(".dc-root");
  if (!root) {
    root = document.createElement("div");
    root.className = "dc-root";
    parentElement.appendChild(root);
    root.__dc = { root };
  }
  const st = root.__dc;
  st.data = data;
  st.setStateValue = setStateValue;
  if (!st.canvas) build(root, data, st);
  showExact(st);
  if (data.browser && !st.runtime) loadRuntime(st);
  return undefined;
}
