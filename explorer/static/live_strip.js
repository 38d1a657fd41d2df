// A strip that follows a live control (explorer/ui/controls.py: live_strip): the control's code with one
// slider set to each of `values`, e.g. the Latent sliders page's traversal. Python sends the
// server's decode (`png`) until the control's browser runtime is ready, and nothing but the
// values once the browser decodes: then the strip decodes itself, in one batch, whenever the
// control settles (a release, or Python's answer to it), so a release costs the server no decode.
// It finds the control's runtime and decoder through window.__leControls (live_control.js).

const TILE = 28;
const GAP = 2; // black gap between frames, as explorer/images.grid draws it

function setup(parentElement) {
  let root = parentElement.querySelector(".le-strip");
  if (!root) {
    root = document.createElement("figure");
    root.className = "le-strip";
    root.style.margin = "0";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.style.imageRendering = "pixelated";
    canvas.style.maxWidth = "100%";
    const caption = document.createElement("figcaption");
    caption.style.fontSize = "0.8rem";
    caption.style.opacity = "0.7";
    root.append(canvas, caption);
    parentElement.appendChild(root);
    root.__strip = { canvas, caption };
  }
  return root;
}

function size(canvas, n, scale) {
  canvas.width = (n * (TILE + GAP) - GAP) * scale;
  canvas.height = TILE * scale;
}

/** The codes of the strip: the control's code at ``coeffs`` with slider ``dim`` at each value. */
function codes(spec, coeffs, dim, values) {
  const d = spec.origin.length;
  const out = new Float32Array(values.length * d);
  values.forEach((v, k) => {
    const c = coeffs.slice();
    c[dim] = v;
    const z = Float32Array.from(spec.origin);
    spec.basis.forEach((row, i) => {
      if (c[i]) row.forEach((b, j) => { z[j] += c[i] * b; });
    });
    out.set(z, k * d);
  });
  return out;
}

async function decodeStrip(root, coeffs) {
  const s = root.__strip;
  const control = window.__leControls?.[s.data.target];
  const spec = control?.data?.browser?.channels?.[0];
  if (!control?.rt || !spec?.basis) return false;
  const { dim, values, scale } = s.data;
  const want = JSON.stringify([coeffs, dim, values]);
  s.want = want;
  const url = new URL(spec.decoder, document.baseURI).href;
  const pixels = await control.rt.decode(url, codes(spec, coeffs, dim, values), values.length);
  if (s.want !== want) return true; // a newer strip was asked for meanwhile
  size(s.canvas, values.length, scale);
  const ctx = s.canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, s.canvas.width, s.canvas.height);
  const tile = document.createElement("canvas");
  values.forEach((_, k) => {
    tile.width = tile.height = TILE * scale;
    control.rt.draw(tile, pixels, k * TILE * TILE);
    ctx.drawImage(tile, k * (TILE + GAP) * scale, 0);
  });
  s.canvas.dataset.source = "browser";
  s.canvas.dataset.coeffs = JSON.stringify(coeffs);
  (window.__leStats || {}).stripDecodes = ((window.__leStats || {}).stripDecodes || 0) + 1;
  return true;
}

function drawPng(root, url) {
  const s = root.__strip;
  const img = new Image();
  img.onload = () => {
    s.canvas.width = img.naturalWidth;
    s.canvas.height = img.naturalHeight;
    s.canvas.getContext("2d").drawImage(img, 0, 0);
    s.canvas.dataset.source = "server";
    s.canvas.dataset.coeffs = JSON.stringify(s.data.coeffs);
  };
  img.src = url;
}

export default function ({ data: raw, parentElement }) {
  const data = JSON.parse(raw.json); // sent as one string (see explorer/ui/controls.py)
  const root = setup(parentElement);
  const s = root.__strip;
  s.data = data;
  s.caption.textContent = data.caption;
  s.canvas.setAttribute("aria-label", data.caption);
  if (data.png) drawPng(root, data.png);
  else decodeStrip(root, data.coeffs);
  if (!s.listening) {
    s.listening = true;
    // A release the browser decoded: the strip follows at once, before Python answers.
    window.addEventListener("le-settled", (event) => {
      if (event.detail.id === s.data.target) decodeStrip(root, event.detail.values);
    });
    // The runtime came after Python's answer: decode what Python last sent.
    window.addEventListener("le-ready", (event) => {
      if (event.detail.id === s.data.target && !s.data.png) decodeStrip(root, s.data.coeffs);
    });
  }
  return undefined;
}
