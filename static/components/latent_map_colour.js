// Colours of the Latent map (latent_map.js): by digit (the app's ten colours, explorer/plots.py),
// or by a number per point (the neighbourhood overlap of the two models, or a Morpho-MNIST
// attribute) on viridis, which stays ordered in grey and for colour-blind readers, binned into
// BINS steps so that drawing sets each colour once. A point without a value (a digit with no
// stroke) is grey. The legend under the maps says what a colour means: ten chips, or the scale
// with its two ends.
import { element } from "./dom.js";

const BINS = 32;
export const MISSING = "#b4b4b4";
// viridis at 0, 1/8, ..., 1 (matplotlib's table), interpolated between.
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [VIRIDIS[i], VIRIDIS[i + 1]];
  return `rgb(${a.map((v, k) => Math.round(v + f * (b[k] - v))).join(",")})`;
}

const PALETTE = Array.from({ length: BINS }, (_, i) => viridis(i / (BINS - 1)));

/** The 2nd and 98th percentiles of the finite values: a few extreme digits do not wash out the
 * scale. [0, 1] for the overlap, whose ends mean something. */
function range(values, fixed) {
  if (fixed) return fixed;
  const finite = values.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (!finite.length) return [0, 1];
  const at = (q) => finite[Math.min(finite.length - 1, Math.floor(q * finite.length))];
  const [lo, hi] = [at(0.02), at(0.98)];
  return hi > lo ? [lo, hi] : [lo - 1, lo + 1];
}

/** How to colour the points: {of(row) -> css colour, legend(parent), value(row) -> text}.
 * ``spec`` is Python's {by, label, unit}; ``points`` the loaded points, ``overlap`` the overlaps. */
export function scale(spec, points, overlap, digitColors) {
  const labels = points.labels;
  if (spec.by === "digit") {
    return {
      of: (row) => digitColors[labels[row]],
      value: () => "",
      legend: (parent) => digitLegend(parent, digitColors),
    };
  }
  const values = spec.by === "overlap" ? overlap : points.attributes[spec.by] || [];
  const [lo, hi] = range(values, spec.by === "overlap" ? [0, 1] : null);
  const bin = (v) => Math.round(((v - lo) / (hi - lo)) * (BINS - 1));
  const digits = spec.by === "overlap" ? 2 : 1;
  return {
    of: (row) => {
      const v = values[row];
      return v === null || v === undefined || !Number.isFinite(v)
        ? MISSING : PALETTE[Math.min(BINS - 1, Math.max(0, bin(v)))];
    },
    value: (row) => {
      const v = values[row];
      const name = spec.short || spec.label;
      if (v === null || v === undefined) return `${name}: no stroke`;
      return `${name}: ${v.toFixed(digits)}${spec.unit ? ` ${spec.unit}` : ""}`;
    },
    legend: (parent) => barLegend(parent, spec, lo, hi, digits),
  };
}

function digitLegend(parent, colors) {
  const row = element("div", "lm-legend", parent);
  element("span", "lm-legend-title", row, "digit");
  colors.forEach((color, digit) => {
    const chip = element("span", "lm-chip", row);
    element("span", "lm-dot", chip).style.background = color;
    chip.append(String(digit));
  });
}

function barLegend(parent, spec, lo, hi, digits) {
  const row = element("div", "lm-legend", parent);
  element("span", "lm-legend-title", row, spec.label);
  element("span", "", row, lo.toFixed(digits));
  const bar = element("span", "lm-bar", row);
  bar.style.background = `linear-gradient(to right, ${PALETTE.join(",")})`;
  element("span", "", row, `${hi.toFixed(digits)}${spec.unit ? ` ${spec.unit}` : ""}`);
  if (spec.note) element("span", "lm-legend-note", row, spec.note);
}
