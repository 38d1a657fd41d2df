// Draw a digit with the mouse or a finger (Streamlit components v2; explorer/ui/browser_views.py),
// white ink on black like MNIST, and watch the models read it while you draw (issue 11). On every
// animation frame of a stroke the drawing is cleaned up as MNIST's digits were
// (digit_preprocess.js, the port of explorer.images.preprocess_digit), and, once the models are
// ready (runtime.js), encoded and decoded by the AE and the VAE and placed on both 2-D latent
// planes, all in the browser. At the end of each stroke the drawing goes to Python as SIDE x SIDE
// grayscale bytes (base64), the very bytes the browser preprocessed; Python, the source of
// truth, preprocesses and encodes them and sends back its images and points, which replace the
// browser's (data-source "exact"). If the models cannot load, the control says so once and shows
// only Python's views. Clear empties it. Without `recons` in the data (the server path) it is
// the canvas alone. Its last live update is in window.__leTelemetry.draw for tests.
import { preprocess } from "./digit_preprocess.js";
import { draw, element, figure, image, mount, paint } from "./dom.js";
import { decode, encode, start, telemetry, toGrey } from "./runtime.js";

const SIDE = 56;
const live = telemetry.draw;

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

function build(root, data, st) {
  const row = element("div", "dc-row", root);
  const pad = element("div", "", row);
  const canvas = element("canvas", "dc-canvas", pad);
  canvas.width = canvas.height = data.size;
  canvas.setAttribute("aria-label", "Draw a digit here");
  const button = element("button", "dc-clear", pad, "Clear");
  st.canvas = canvas;
  st.views = null;
  if (data.recons) {
    const views = element("div", "dc-views", row);
    const view = (caption, className) => {
      const made = figure(views, data.tile, caption, className, "dc-caption");
      made.caption.style.maxWidth = `${data.tile}px`;
      return made;
    };
    st.views = {
      digit: view("what the models see", "dc-digit").canvas,
      recons: data.recons.map((c) => view(c, "dc-recon").canvas),
      planes: data.planes.map((p) => view(`${p.label}: its code`, "dc-plane")),
    };
  }
  st.note = element("div", "dc-note", root);
  st.note.hidden = true;
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
      const { planes, colors } = st.data;
      st.views.planes.forEach((p, i) => drawPlane(p.canvas, planes[i], colors, null));
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
        image(src, (img) => {
          if (st.drawing) return; // a new stroke has begun: the browser's views are newer
          paint(canvas, img);
          canvas.dataset.source = "exact";
          canvas.dataset.exact = src;
        });
      });
  }
  views.planes.forEach((_, i) => {
    if (exact) showPoint(st, i, exact.points[i], "exact");
    else showPoint(st, i, null, "none");
  });
}

/** Plane ``i`` with the drawing's ``point`` (or none), as ``source`` computed it. */
function showPoint(st, i, point, source) {
  const p = st.views.planes[i];
  const plane = st.data.planes[i];
  drawPlane(p.canvas, plane, st.data.colors, point);
  p.canvas.dataset.source = source;
  p.caption.textContent = point
    ? `${plane.label}: (${point[0].toFixed(2)}, ${point[1].toFixed(2)})`
    : `${plane.label}: its code`;
}

async function loadRuntime(st) {
  const b = st.data.browser;
  st.runtime = "loading";
  const urls = [...b.recons.flatMap((r) => [r.encoder, r.decoder]), ...b.planes];
  const instead = "the reconstructions appear when you lift the pen, computed on the server";
  const ready = await start(st.root, urls,
    { note: st.note, instead, setStateValue: st.setStateValue });
  st.runtime = ready ? "ready" : "failed"; // failed: said once, and never retried
}

/** One live update: preprocess the drawing, then encode and decode it with every model. */
async function update(st) {
  if (!st.views || !st.runtime) return; // the 28x28 follows the stroke even without models
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
  const digit = preprocess(gray, SIDE, SIDE);
  const fresh = () => st.drawing && st.stroke === stroke; // else Python's answer is on its way
  if (!fresh()) return;
  draw(st.views.digit, toGrey(digit));
  st.views.digit.dataset.source = "browser";
  const result = { gray: Array.from(gray), digit: Array.from(digit), recons: [], points: [] };
  if (st.runtime === "ready" && digit.some((v) => v > 0)) {
    const b = st.data.browser;
    for (const [i, r] of b.recons.entries()) {
      const code = await encode(r.encoder, digit, 1);
      const pixels = await decode(r.decoder, code, 1);
      if (!fresh()) return;
      draw(st.views.recons[i], pixels);
      st.views.recons[i].dataset.source = "browser";
      result.recons.push(Array.from(pixels));
    }
    for (const [i, url] of b.planes.entries()) {
      const point = Array.from(await encode(url, digit, 1));
      if (!fresh()) return;
      showPoint(st, i, point, "browser");
      result.points.push(point);
    }
  }
  Object.assign(live, result, { updates: live.updates + 1, time: performance.now() });
}

export default function ({ data: raw, parentElement, setStateValue }) {
  const st = mount(parentElement, "dc-root", (root) => ({ root }));
  st.data = JSON.parse(raw.json); // sent as one string (see explorer/ui/browser_views.py)
  st.setStateValue = setStateValue;
  if (!st.canvas) build(st.root, st.data, st);
  showExact(st);
  if (st.data.browser && !st.runtime) loadRuntime(st);
}
