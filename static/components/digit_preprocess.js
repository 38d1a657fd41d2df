// MNIST-style preprocessing of a drawn digit in the browser: a faithful port of
// explorer/images.preprocess_digit (LeCun et al., 1998), so that the drawing canvas can show the
// 28x28 the models see, and encode it, on every animation frame of a stroke (issue 11). Python
// stays the source of truth: on stroke end the drawing goes to the server, which runs the original
// on the same bytes. tests/test_browser_views.py checks that both agree on drawn strokes.
//
// The steps, as in Python: the paper's level (lower median of the outer tenth) and its noise
// (MAD) are removed, the picture is inverted when its ink is darker than the paper, the ink is
// cropped (ignoring the outer 0.2 % of its mass), scaled into a 20x20 box keeping its aspect
// ratio (torch's antialiased bilinear resize), peak-normalised, and pasted into 28x28 so that its
// centre of mass is the centre. Python's round() rounds half to even, torch.median returns the
// lower middle value and torch.quantile interpolates linearly: all three are reproduced.
//   preprocess(gray, h, w) -> Float32Array(784) in [0, 1], zeros when nothing is drawn

const SIDE = 28;
const BOX = 20;

/** Python's round(): to the nearest integer, halves to even. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function sorted(values) {
  return Float64Array.from(values).sort();
}

/** torch.median: the lower of the two middle values of an even count. */
function lowerMedian(values) {
  const s = sorted(values);
  return s[(s.length - 1) >> 1];
}

/** torch.quantile with linear interpolation, on already sorted values. */
function quantile(s, q) {
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** The pixels of the outer tenth of the picture on each side (explorer.images._border). */
function border(x, h, w) {
  const bh = Math.max(1, Math.floor(h / 10));
  const bw = Math.max(1, Math.floor(w / 10));
  const out = [];
  for (let r = 0; r < h; r += 1) {
    for (let c = 0; c < w; c += 1) {
      if (r < bh || r >= h - bh || c < bw || c >= w - bw) out.push(x[r * w + c]);
    }
  }
  return out;
}

/** Ink strength in [0, 1] with the paper at 0 (explorer.images._ink); null when blank. */
function ink(x, h, w) {
  let ring = border(x, h, w);
  let paper = lowerMedian(ring);
  const all = sorted(x);
  const dark = paper - quantile(all, 0.01);
  const light = quantile(all, 0.99) - paper;
  if (dark > light) { // dark ink on light paper: invert to MNIST's white on black
    x = x.map((v) => 1 - v);
    ring = ring.map((v) => 1 - v);
    paper = 1 - paper;
  }
  const noise = 1.4826 * lowerMedian(ring.map((v) => Math.abs(v - paper)));
  const signal = new Float64Array(x.length);
  let top = 0;
  for (let i = 0; i < x.length; i += 1) {
    signal[i] = Math.max(0, x[i] - paper - 3 * noise);
    top = Math.max(top, signal[i]);
  }
  if (top < 0.05) return null;
  const level = quantile(sorted(signal.filter((v) => v > 0.5 * top)), 0.9);
  return signal.map((v) => {
    const s = Math.min(1, Math.max(0, v / level));
    return s > 0.15 ? s : 0;
  });
}

/** [first, last) of the mass between its 0.2 % and 99.8 % points (torch.searchsorted, left). */
function span(mass) {
  const total = mass.reduce((a, b) => a + b, 0);
  let first = mass.length;
  let last = mass.length;
  let run = 0;
  for (let i = 0; i < mass.length; i += 1) {
    run += mass[i];
    const c = run / total;
    if (first === mass.length && c >= 0.002) first = i;
    if (last === mass.length && c >= 0.998) last = i;
  }
  return [first, Math.min(last, mass.length - 1) + 1];
}

/** The rows and columns that hold the ink (explorer.images._crop): {data, h, w}. */
function crop(strength, h, w) {
  const rows = new Float64Array(h);
  const cols = new Float64Array(w);
  for (let r = 0; r < h; r += 1) {
    for (let c = 0; c < w; c += 1) {
      rows[r] += strength[r * w + c];
      cols[c] += strength[r * w + c];
    }
  }
  const [r0, r1] = span(rows);
  const [c0, c1] = span(cols);
  const out = new Float64Array((r1 - r0) * (c1 - c0));
  for (let r = r0; r < r1; r += 1) {
    for (let c = c0; c < c1; c += 1) out[(r - r0) * (c1 - c0) + (c - c0)] = strength[r * w + c];
  }
  return { data: out, h: r1 - r0, w: c1 - c0 };
}

/** Weights of torch's antialiased linear resize from n to m samples along one axis
 * (aten/src/ATen/native/UpSample.h, _compute_weights_aa): a triangle filter widened by the
 * scale when shrinking. Returns, per output sample, [first input index, weights]. */
function resizeWeights(n, m) {
  const scale = n / m;
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const out = [];
  for (let i = 0; i < m; i += 1) {
    const center = scale * (i + 0.5);
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const size = Math.min(Math.trunc(center + support + 0.5), n) - lo;
    const weights = [];
    let total = 0;
    for (let j = 0; j < size; j += 1) {
      const t = Math.abs((j + lo - center + 0.5) * invscale);
      const wgt = t < 1 ? 1 - t : 0;
      weights.push(wgt);
      total += wgt;
    }
    out.push([lo, total ? weights.map((v) => v / total) : weights]);
  }
  return out;
}

/** Scale so the longer side is BOX pixels (explorer.images._fit_box), peak-normalised. */
function fitBox({ data, h, w }) {
  const scale = BOX / Math.max(h, w);
  const oh = Math.max(1, Math.min(BOX, roundHalfEven(h * scale)));
  const ow = Math.max(1, Math.min(BOX, roundHalfEven(w * scale)));
  const across = resizeWeights(w, ow);
  const down = resizeWeights(h, oh);
  const wide = new Float64Array(h * ow); // rows first, then columns
  for (let r = 0; r < h; r += 1) {
    across.forEach(([lo, weights], c) => {
      let v = 0;
      weights.forEach((k, j) => { v += k * data[r * w + lo + j]; });
      wide[r * ow + c] = v;
    });
  }
  const out = new Float64Array(oh * ow);
  let top = 0;
  down.forEach(([lo, weights], r) => {
    for (let c = 0; c < ow; c += 1) {
      let v = 0;
      weights.forEach((k, j) => { v += k * wide[(lo + j) * ow + c]; });
      out[r * ow + c] = v;
      top = Math.max(top, v);
    }
  });
  return { data: out.map((v) => Math.min(1, Math.max(0, v / top))), h: oh, w: ow };
}

/** Paste into 28x28 with the centre of mass at the centre (explorer.images._center_by_mass). */
function centerByMass({ data, h, w }) {
  let total = 0;
  let rows = 0;
  let cols = 0;
  for (let r = 0; r < h; r += 1) {
    for (let c = 0; c < w; c += 1) {
      const v = data[r * w + c];
      total += v;
      rows += r * v;
      cols += c * v;
    }
  }
  const centre = (SIDE - 1) / 2;
  // Rounded to 1e-4 first, as Python does: a symmetric stroke's half pixel is a tie either side.
  const offset = (v) => roundHalfEven(Math.round(v * 1e4) / 1e4);
  const top = Math.min(Math.max(offset(centre - rows / total), 0), SIDE - h);
  const left = Math.min(Math.max(offset(centre - cols / total), 0), SIDE - w);
  const out = new Float32Array(SIDE * SIDE);
  for (let r = 0; r < h; r += 1) {
    for (let c = 0; c < w; c += 1) out[(top + r) * SIDE + left + c] = data[r * w + c];
  }
  return out;
}

/** A grayscale picture (h x w values, 0-255 or [0, 1]) -> the 28x28 digit, Float32Array(784). */
export function preprocess(gray, h, w) {
  let x = Float64Array.from(gray);
  const top = x.reduce((a, b) => Math.max(a, b), 0);
  if (top > 1) x = x.map((v) => Math.fround(v / 255));
  x = x.map((v) => Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)));
  const strength = ink(x, h, w);
  if (!strength) return new Float32Array(SIDE * SIDE);
  return centerByMass(fitBox(crop(strength, h, w)));
}
