// The live control's elements (live_control.js): one canvas per channel with its caption and
// the classifier's reading, a range input per slider, the 2-D pad when Python sends one, and the
// note shown when the models cannot load. Built again only when the control's shape changes
// (signature), so a rerun keeps the elements, their listeners and a drag in progress.
import { element, figure } from "./dom.js";

export function signature(data) {
  return JSON.stringify([data.channels, data.sliders.map((s) => s.label), !!data.pad, data.size]);
}

export function build(root, data) {
  root.innerHTML = "";
  const views = element("div", "le-views");
  const figures = data.channels.map((caption) => {
    const { canvas } = figure(views, data.size, caption, "le-canvas");
    return { canvas, reads: element("figcaption", "le-reads", canvas.parentElement) };
  });
  const controls = element("div", "le-controls");
  const inputs = data.sliders.map((s, i) => {
    const row = element("label", "le-row", controls);
    element("span", "le-name", row, s.label);
    // Named ends (an attribute slider: "thinner", "thicker"): a word at each end, a row of its own.
    if (s.ends) row.classList.add("le-ends");
    if (s.ends) element("span", "le-end", row, s.ends[0]);
    const input = element("input", "le-range", row);
    input.type = "range";
    input.dataset.index = String(i);
    input.setAttribute("aria-label", s.label);
    if (s.ends) element("span", "le-end", row, s.ends[1]);
    return { input, out: element("output", "le-value", row) };
  });
  let pad = null;
  if (data.pad) {
    pad = element("canvas", "le-pad", views); // beside the image where there is room, else below
    pad.width = pad.height = data.pad.size;
    pad.tabIndex = 0;
    pad.setAttribute("role", "slider");
    pad.setAttribute("aria-label", `2-D pad: ${data.pad.labels.join(", ")}`);
  }
  const note = element("div", "le-note");
  note.hidden = true;
  root.append(views, controls, note);
  return {
    canvases: figures.map((f) => f.canvas), reads: figures.map((f) => f.reads),
    inputs, pad, note, signature: signature(data),
  };
}

/** Python's slider settings; a slider keeps its value while it is dragged or a step is awaited. */
export function update(st, keep) {
  st.dom.inputs.forEach(({ input, out }, i) => {
    const s = st.data.sliders[i];
    input.min = s.low;
    input.max = s.high;
    input.step = s.step;
    input.style.direction = s.reverse ? "rtl" : ""; // rtl: high on the left (λ = 1, a)
    if (!keep) input.value = s.value;
    out.textContent = Number(input.value).toFixed(2);
  });
}

/** Show ``values`` on the first sliders (the pad moves two at once). */
export function setSliders(st, values) {
  values.forEach((v, i) => {
    const { input, out } = st.dom.inputs[i];
    input.value = v;
    out.textContent = v.toFixed(2);
  });
}

export function currentValues(st) {
  return st.dom.inputs.map(({ input }) => Number(input.value));
}

/** Each slider draws on the next animation frame while it moves and releases on change. */
export function wireSliders(st, schedule, release, drawFrames) {
  st.dom.inputs.forEach(({ input, out }, i) => {
    input.addEventListener("input", (event) => {
      st.dragging = true;
      out.textContent = Number(input.value).toFixed(2);
      const t = event.timeStamp;
      schedule(() => drawFrames(st, i, Number(input.value), t));
    });
    input.addEventListener("change", release);
  });
}
