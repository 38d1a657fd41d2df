// Atlas probe (Streamlit components v2; explorer/ui/browser_views.py): under the AE vs VAE
// atlases, both models' digit at one point of their shared latent plane, decoded in the browser
// (runtime.js) as the pointer moves over either atlas (a preview) and at once when it clicks
// (issue 11). The atlases are Streamlit's own plotly charts (keys in data.charts); the probe
// listens to their plotly_hover, plotly_unhover and plotly_click events (and turns a finger's
// touch into a hover first, so that a tap selects its own spot). A click still selects
// the point in the chart, which reruns the page: Python, the source of truth, puts it in the URL
// and sends its own decode here (data.exact), which replaces the browser's. If the models cannot
// load, the probe says so once and shows only Python's decode, after each click's rerun.
// Every image it draws is logged in window.__leTelemetry.probe (source, point, time, pixels).
import { draw, element, figure, image, mount, paint } from "./dom.js";
import { decode, readsCaption, reading, record, start, telemetry, why } from "./runtime.js";

const log = telemetry.probe;
const KEEP = 200;
const probes = new WeakMap(); // a plotly chart -> the probe state its events go to

function logShown(entry) {
  record(log.shown, { ...entry, time: performance.now() }, KEEP);
}

function build(root, data) {
  const row = element("div", "ap-row", root);
  const figures = data.labels.map((label) => {
    const made = figure(row, data.size, `${label}: decoded point`, "ap-canvas", "ap-caption", "");
    made.caption.style.maxWidth = `${Math.max(data.size, 220)}px`;
    return made;
  });
  const note = element("div", "ap-note", root);
  note.hidden = true;
  return { figures, note };
}

/** Python's decode of its point (on every run): shown unless the pointer is over an atlas. */
function showExact(st) {
  const { data } = st;
  const turn = (st.drawn += 1); // an image decoded later than the browser's next draw is older
  st.dom.figures.forEach(({ canvas, caption }, c) => {
    image(data.exact[c], (img) => {
      if (st.hovering || turn !== st.drawn) return;
      paint(canvas, img);
      canvas.dataset.source = "exact";
      canvas.dataset.point = JSON.stringify(data.point);
      caption.textContent = data.captions[c];
      logShown({ source: "exact", point: data.point, channel: c });
    });
  });
}

/** The point of a plotly event: the last scatter point (as explorer.compare reads a
 * selection), else any point with numbers for x and y (the heat-map under it). */
function pointOf(event) {
  const points = event?.points || [];
  const numeric = (p) => typeof p.x === "number" && typeof p.y === "number";
  const scatter = points.filter((p) => p.data?.type === "scatter" && numeric(p));
  const any = points.filter(numeric);
  const p = scatter.at(-1) || any.at(-1);
  return p ? [p.x, p.y] : null;
}

function hook(st) {
  let missing = 0;
  st.data.charts.forEach((key) => {
    const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    if (!gd || typeof gd.on !== "function") { missing += 1; return; }
    const hooked = probes.has(gd);
    probes.set(gd, st); // its handlers read the probe here, however often it re-renders
    if (hooked) return;
    const probe = () => probes.get(gd)?.root.isConnected && probes.get(gd);
    gd.on("plotly_hover", (e) => { const s = probe(); if (s) preview(s, pointOf(e), "hover"); });
    gd.on("plotly_unhover", () => { const s = probe(); if (s) leave(s); });
    gd.on("plotly_click", (e) => { const s = probe(); if (s) preview(s, pointOf(e), "click"); });
    gd.addEventListener("touchstart", (e) => hoverAt(gd, e), { capture: true, passive: true });
  });
  return missing;
}

/** A finger's touch as the mouse's move to that spot, before plotly handles the tap. Plotly
 * picks a tap's point from the last hover, which no finger makes: each tap selected the spot of
 * the tap before it (and the first tap nothing). */
function hoverAt(gd, event) {
  const touch = event.touches[0];
  const plane = gd.querySelector(".nsewdrag");
  if (!touch || !plane || event.touches.length > 1) return;
  const { clientX, clientY } = touch;
  plane.dispatchEvent(new MouseEvent("mousemove", { clientX, clientY, bubbles: true }));
}

function leave(st) {
  st.hovering = false;
  st.want = null;
  if (st.clicked) return; // a click's browser decode stays until Python's answer replaces it
  showExact(st);
}

function preview(st, point, kind) {
  if (!point || st.runtime !== "ready") return;
  st.hovering = kind === "hover";
  if (kind === "click") st.clicked = JSON.stringify(point);
  st.want = { point, kind };
  if (!st.busy) pump(st);
}

async function pump(st) {
  st.busy = true;
  try {
    while (st.want) {
      const { point, kind } = st.want;
      st.want = null;
      const b = st.data.browser;
      const z = Float32Array.from(point);
      const images = await Promise.all(b.decoders.map((u) => decode(u, z, 1)));
      const reads = await reading(b.classifier, images);
      if (kind === "hover" && !st.hovering) continue; // the pointer left meanwhile
      st.drawn += 1;
      images.forEach((pixels, c) => {
        const { canvas, caption } = st.dom.figures[c];
        draw(canvas, pixels);
        canvas.dataset.source = kind === "click" ? "browser" : "hover";
        canvas.dataset.point = JSON.stringify(point);
        caption.textContent = `${st.data.labels[c]} at (${point[0].toFixed(2)}, ` +
          `${point[1].toFixed(2)}): ${readsCaption(reads[c], true)}` +
          (kind === "hover" ? " · pointer" : "");
        logShown({ source: canvas.dataset.source, point, channel: c, pixels: Array.from(pixels) });
      });
    }
  } catch (err) {
    log.error = why(err);
  } finally {
    st.busy = false;
  }
}

async function loadRuntime(st) {
  const b = st.data.browser;
  st.runtime = "loading";
  const instead = "a clicked point is decoded on the server";
  const ready = await start(st.root, [...b.decoders, b.classifier],
    { note: st.dom.note, instead, setStateValue: st.setStateValue });
  st.runtime = ready ? "ready" : "failed"; // failed: said once, and never retried
}

export default function ({ data: raw, parentElement, setStateValue }) {
  const data = JSON.parse(raw.json); // sent as one string (see explorer/ui/browser_views.py)
  const init = (root) => ({ root, dom: build(root, data), drawn: 0 });
  const st = mount(parentElement, "ap-root", init);
  st.data = data;
  st.setStateValue = setStateValue;
  // Python's point wins, except over a click whose own rerun has not answered yet.
  const answer = JSON.stringify(data.point);
  const stale = st.clicked && answer === st.answered && answer !== st.clicked;
  if (!stale) {
    st.clicked = null;
    st.answered = answer;
    showExact(st);
  }
  if (data.browser && !st.runtime) loadRuntime(st);
  // The charts may draw after the probe: look for them a few times after each render.
  let tries = 0;
  const look = () => { if (hook(st) && (tries += 1) < 40) setTimeout(look, 250); };
  look();
}
