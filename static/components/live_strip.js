// A strip that follows a live control (explorer/ui/controls.py: live_strip): the control's code
// with one slider set to each of `values`, e.g. the Latent sliders page's traversal. Python sends
// the server's decode (`png`) until the control's models are ready, and nothing but the values
// once the browser decodes: then the strip decodes itself, in one batch, whenever the control
// settles (a release, or Python's answer to it), so a release costs the server no decode. It
// hears the control through messages (runtime.js): "control" (its decoders), "ready", "settled".
import { draw, element, image, mount } from "./dom.js";
import { codeFor, decode, last, listen, telemetry } from "./runtime.js";

const TILE = 28;
const GAP = 2; // black gap between frames, as explorer/images.grid draws it

function build(root) {
  const s = { canvas: element("canvas", "", root), caption: element("figcaption", "", root) };
  s.canvas.setAttribute("role", "img");
  listen("settled", (message, id) => {
    // A release the browser decoded: the strip follows at once, before Python answers.
    if (id === s.data.target) decodeStrip(s, message.values);
  });
  listen("ready", (_, id) => {
    // The models came after Python's answer: decode what Python last sent.
    if (id === s.data.target && !s.data.png) decodeStrip(s, s.data.coeffs);
  });
  return s;
}

/** The control's code at ``coeffs`` with slider ``dim`` at each of ``values``, in a row. */
function codes(spec, coeffs, dim, values) {
  const d = spec.origin.length;
  const out = new Float32Array(values.length * d);
  values.forEach((v, k) => {
    const c = coeffs.slice();
    c[dim] = v;
    out.set(codeFor(spec, c), k * d);
  });
  return out;
}

async function decodeStrip(s, coeffs) {
  const control = last("control", s.data.target);
  const spec = control?.browser?.channels?.[0];
  if (!control?.ready || !spec?.basis) return;
  const { dim, values, scale } = s.data;
  const want = JSON.stringify([coeffs, dim, values]);
  s.want = want;
  const pixels = await decode(spec.decoder, codes(spec, coeffs, dim, values), values.length);
  if (s.want !== want) return; // a newer strip was asked for meanwhile
  s.canvas.width = (values.length * (TILE + GAP) - GAP) * scale;
  s.canvas.height = TILE * scale;
  const ctx = s.canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, s.canvas.width, s.canvas.height);
  const tile = document.createElement("canvas");
  values.forEach((_, k) => {
    tile.width = tile.height = TILE * scale;
    draw(tile, pixels, k * TILE * TILE);
    ctx.drawImage(tile, k * (TILE + GAP) * scale, 0);
  });
  s.canvas.dataset.source = "browser";
  s.canvas.dataset.coeffs = JSON.stringify(coeffs);
  telemetry.control.stripDecodes += 1;
}

function drawPng(s, url) {
  image(url, (img) => {
    s.canvas.width = img.naturalWidth;
    s.canvas.height = img.naturalHeight;
    s.canvas.getContext("2d").drawImage(img, 0, 0);
    s.canvas.dataset.source = "server";
    s.canvas.dataset.coeffs = JSON.stringify(s.data.coeffs);
  });
}

export default function ({ data: raw, parentElement }) {
  const s = mount(parentElement, "le-strip", build, "figure");
  s.data = JSON.parse(raw.json); // sent as one string (see explorer/ui/controls.py)
  s.caption.textContent = s.data.caption;
  s.canvas.setAttribute("aria-label", s.data.caption);
  if (s.data.png) drawPng(s, s.data.png);
  else decodeStrip(s, s.data.coeffs);
}
