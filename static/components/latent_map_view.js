// One map of the Latent map (latent_map.js): a canvas of every point, drawn as squares (10,000
// points redraw in a few ms, fluid on a phone), and an overlay canvas above it for what moves:
// the ring under the pointer, the picked digit, a lasso. Its view fits the points, then pans
// (drag with a mouse), zooms (Ctrl + wheel or a trackpad's pinch, or the toolbar's buttons) and
// resets (double click). A mouse hovering finds the nearest point within REACH px; a click or a
// tap picks it (Shift-, Ctrl- or Cmd-click adds it to the selection); a lasso (the Lasso tool, or
// Shift + drag) selects the points inside. On touch
// with the Pick tool the map lets a vertical swipe scroll the page, so a phone never gets stuck
// on two maps that fill its screen; only taps go to the map.
import { element } from "./dom.js";

const REACH = 14; // px: the farthest a hovered or tapped point may be from the pointer
const TAP = 8; // px: a press that moves less than this is a tap, not a drag
const PAD = 12; // px inside the canvas's edges

export function createView(parent, title, handlers) {
  const box = element("div", "lm-map", parent);
  const head = element("div", "lm-title", box, title);
  const stage = element("div", "lm-stage", box);
  const base = element("canvas", "lm-canvas", stage);
  const over = element("canvas", "lm-over", stage);
  base.setAttribute("role", "img");
  const v = { box, head, stage, base, over, x: null, y: null, n: 0, k: 1, dx: 0, dy: 0,
    width: 0, height: 0, tool: "pick", ring: null, picked: null, lasso: null };
  wire(v, handlers);
  return v;
}

/** Size the canvases (CSS px, sharp on any screen) and fit the view to the points. */
export function resize(v, width, height) {
  const ratio = window.devicePixelRatio || 1;
  v.width = width;
  v.height = height;
  for (const c of [v.base, v.over]) {
    c.width = Math.round(width * ratio);
    c.height = Math.round(height * ratio);
    c.style.width = `${width}px`;
    c.style.height = `${height}px`;
    c.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
  }
  v.stage.style.width = `${width}px`;
  v.stage.style.height = `${height}px`;
}

/** New coordinates: the view fits them (equal scales on both axes) and zoom is reset. */
export function setPoints(v, x, y) {
  v.x = x;
  v.y = y;
  v.n = x.length;
  fit(v);
}

export function fit(v) {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < v.n; i += 1) {
    x0 = Math.min(x0, v.x[i]); x1 = Math.max(x1, v.x[i]);
    y0 = Math.min(y0, v.y[i]); y1 = Math.max(y1, v.y[i]);
  }
  const span = Math.max(x1 - x0, y1 - y0, 1e-9);
  v.s = Math.min(v.width - 2 * PAD, v.height - 2 * PAD) / span;
  v.cx = (x0 + x1) / 2;
  v.cy = (y0 + y1) / 2;
  v.k = 1;
  v.dx = 0;
  v.dy = 0;
}

/** A map point's position on the canvas, in CSS px (y up on the map, down on the screen). */
export function toScreen(v, mx, my) {
  return [v.width / 2 + v.dx + (mx - v.cx) * v.s * v.k,
    v.height / 2 + v.dy - (my - v.cy) * v.s * v.k];
}

/** Zoom by ``factor`` about the canvas point (px, py). */
export function zoom(v, factor, px = v.width / 2, py = v.height / 2) {
  const k = Math.min(40, Math.max(0.5, v.k * factor));
  const f = k / v.k;
  v.dx = (v.dx + v.width / 2 - px) * f - v.width / 2 + px;
  v.dy = (v.dy + v.height / 2 - py) * f - v.height / 2 + py;
  v.k = k;
}

/** Draw every point: ``colour(row)``, and when ``selected`` (a Set) is given, the others in
 * grey first and the selected ones over them, larger. ``marks`` are overlays in map units. */
export function draw(v, colour, selected, marks, size = 4) {
  const ctx = v.base.getContext("2d");
  ctx.clearRect(0, 0, v.width, v.height);
  if (!v.x) return;
  const groups = new Map(); // colour -> flat [x, y, ...], so each colour is set once
  const add = (c, i) => {
    const [px, py] = toScreen(v, v.x[i], v.y[i]);
    if (px < -size || py < -size || px > v.width + size || py > v.height + size) return;
    if (!groups.has(c)) groups.set(c, []);
    groups.get(c).push(px, py);
  };
  const some = selected && selected.size > 0;
  for (let i = 0; i < v.n; i += 1) add(some && !selected.has(i) ? "#d9d9d9" : colour(i), i);
  const paint = (list, s) => {
    for (const [c, xy] of list) {
      ctx.fillStyle = c;
      for (let j = 0; j < xy.length; j += 2) ctx.fillRect(xy[j] - s / 2, xy[j + 1] - s / 2, s, s);
    }
  };
  paint([...groups].filter(([c]) => c === "#d9d9d9"), size - 1);
  paint([...groups].filter(([c]) => c !== "#d9d9d9"), some ? size + 1 : size);
  for (const mark of marks) drawMark(v, ctx, mark);
}

function drawMark(v, ctx, mark) {
  const at = mark.points.map(([mx, my]) => toScreen(v, mx, my));
  ctx.strokeStyle = "#111";
  ctx.lineWidth = 2;
  if (mark.line) {
    ctx.beginPath();
    at.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
  }
  for (const [x, y] of at) {
    ctx.beginPath();
    if (mark.line) ctx.arc(x, y, 3, 0, 2 * Math.PI);
    else { ctx.moveTo(x - 5, y - 5); ctx.lineTo(x + 5, y + 5); ctx.moveTo(x + 5, y - 5); ctx.lineTo(x - 5, y + 5); }
    ctx.stroke();
  }
}

/** Redraw the overlay: the hovered ring, the picked digit's ring and the lasso in progress. */
export function drawOver(v) {
  const ctx = v.over.getContext("2d");
  ctx.clearRect(0, 0, v.width, v.height);
  const ring = (row, r, color, width) => {
    if (row === null || row === undefined || !v.x || row >= v.n) return;
    const [x, y] = toScreen(v, v.x[row], v.y[row]);
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.lineWidth = width + 2;
    ctx.strokeStyle = "#fff";
    ctx.stroke();
    ctx.lineWidth = width;
    ctx.strokeStyle = color;
    ctx.stroke();
  };
  ring(v.picked, 9, "#e8002d", 2.5);
  ring(v.ring, 7, "#111", 2);
  if (v.lasso && v.lasso.length > 1) {
    ctx.beginPath();
    v.lasso.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.closePath();
    ctx.fillStyle = "rgba(232, 0, 45, 0.08)";
    ctx.fill();
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#e8002d";
    ctx.stroke();
    ctx.setLineDash([]);
  }
}

/** The nearest point to canvas point (px, py) within ``reach`` px, or null. */
export function nearest(v, px, py, reach = REACH) {
  let best = null;
  let bestD = reach * reach;
  for (let i = 0; i < v.n; i += 1) {
    const [x, y] = toScreen(v, v.x[i], v.y[i]);
    const d = (x - px) ** 2 + (y - py) ** 2;
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
}

/** Rows whose points lie inside the polygon (canvas px), by the even-odd rule. */
export function inside(v, polygon) {
  const rows = [];
  for (let i = 0; i < v.n; i += 1) {
    const [x, y] = toScreen(v, v.x[i], v.y[i]);
    let odd = false;
    for (let a = 0, b = polygon.length - 1; a < polygon.length; b = a, a += 1) {
      const [xa, ya] = polygon[a];
      const [xb, yb] = polygon[b];
      if ((ya > y) !== (yb > y) && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) odd = !odd;
    }
    if (odd) rows.push(i);
  }
  return rows;
}

function wire(v, on) {
  const at = (e) => {
    const r = v.over.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  let press = null; // {x, y, mode: "tap" | "pan" | "lasso", moved}
  v.over.addEventListener("pointerdown", (e) => {
    const [x, y] = at(e);
    const lasso = v.tool === "lasso" || (e.pointerType === "mouse" && e.shiftKey);
    press = { x, y, mode: lasso ? "lasso" : "tap", moved: false, dx: v.dx, dy: v.dy };
    if (lasso) v.lasso = [[x, y]];
    if (lasso || e.pointerType === "mouse") v.over.setPointerCapture(e.pointerId);
  });
  v.over.addEventListener("pointermove", (e) => {
    const [x, y] = at(e);
    if (!press) {
      if (e.pointerType !== "touch") on.hover(v, nearest(v, x, y), e);
      return;
    }
    const far = Math.hypot(x - press.x, y - press.y) > TAP;
    press.moved = press.moved || far;
    if (press.mode === "lasso") {
      v.lasso.push([x, y]);
      drawOver(v);
    } else if (press.moved && e.pointerType === "mouse") {
      press.mode = "pan";
      v.dx = press.dx + x - press.x;
      v.dy = press.dy + y - press.y;
      on.moved(v);
    }
  });
  const end = (e, cancelled) => {
    if (!press) return;
    const done = press;
    press = null;
    const polygon = v.lasso;
    v.lasso = null;
    if (polygon) drawOver(v);
    if (cancelled) return;
    if (done.mode === "lasso" && done.moved) {
      if (polygon.length > 2) on.lasso(v, inside(v, polygon));
    } else if (!done.moved) { // a tap; with Shift, Ctrl or Cmd it adds to the selection
      const [x, y] = at(e);
      const row = nearest(v, x, y, e.pointerType === "touch" ? 2 * REACH : REACH);
      on.tap(v, row, e, e.shiftKey || e.ctrlKey || e.metaKey);
    }
  };
  v.over.addEventListener("pointerup", (e) => end(e, false));
  v.over.addEventListener("pointercancel", (e) => end(e, true)); // a swipe that scrolls the page
  // A finger "leaves" after every tap: only a mouse or pen leaving hides the picture.
  v.over.addEventListener("pointerleave", (e) => {
    if (!press && e.pointerType !== "touch") on.hover(v, null, e);
  });
  v.over.addEventListener("dblclick", () => { fit(v); on.moved(v); });
  v.over.addEventListener("wheel", (e) => {
    if (!e.ctrlKey && !e.metaKey) return; // a plain wheel scrolls the page
    e.preventDefault();
    const [x, y] = at(e);
    zoom(v, Math.exp(-e.deltaY * 0.002), x, y);
    on.moved(v);
  }, { passive: false });
}
