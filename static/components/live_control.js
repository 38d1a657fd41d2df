// Live latent control (Streamlit components v2; explorer/ui/controls.py): sliders, or the 2-D
// pad, whose image follows every move. This file is its render and its release; the rest is
// split by concern: live_control_dom.js (elements, sliders), live_control_pad.js (the pad),
// live_control_decode.js (decoding and the classifier's reading in the browser) and
// live_control_films.js (the server path's filmstrips).
//
// When the page sends `browser` (the exported decoders, explorer/onnx_export.py), the control
// loads its models after its first, server-decoded image is drawn, and from then on decodes
// every animation frame of any move itself; the server is asked only on release, where Python
// stays the source of truth. Once the models are ready a release sends the values marked
// `shown` and Python answers without images (`exact` null, no pad sprite): the control decodes
// the values Python settled on (clamped, on the 0.01 grid) itself. If the models cannot load,
// the control says so once, tells Python (state `runtime` = "failed") and falls back to the
// server path: filmstrip frames while a slider moves, Python's exact image on release.
// Its strip (live_strip.js) hears it through messages: "control", "ready" and "settled".
import { build, currentValues, signature, update, wireSliders } from "./live_control_dom.js";
import { requestDecode, showFailure, startRuntime } from "./live_control_decode.js";
import { filmFrame, filmsArrived, noteFresh, takeFilms } from "./live_control_films.js";
import { drawPad, wirePad } from "./live_control_pad.js";
import { image, mount, paint } from "./dom.js";
import { last, listen, post, record, telemetry } from "./runtime.js";

const stats = telemetry.control;
const browsing = (st) => st.runtime === "ready" && st.data.browser;

function init(root) {
  const st = { dragging: false, sent: null, dom: null, root };
  listen("films", (films, id) => { if (id === st.data?.id) filmsArrived(st, films); });
  return st;
}

export default function ({ data: raw, parentElement, setStateValue }) {
  const data = JSON.parse(raw.json); // sent as one string (see explorer/ui/controls.py)
  const st = mount(parentElement, "le-root", init);
  const { root } = st;
  if (!st.dom || st.dom.signature !== signature(data)) {
    st.dom = build(root, data);
    wire(st, setStateValue);
  }
  st.data = data;
  post("control", data.id, { browser: data.browser, ready: st.runtime === "ready" });
  if (data.runtimeFailed) showFailure(st);
  root.dataset.path = data.browser ? "browser" : "server"; // which path Python drew it for
  root.classList.toggle("le-present", !!data.present); // presentation mode (components.css)
  // Quick key steps each send their values; reruns answer them one by one, each with values
  // older than the slider's. Until the answer to the last step sent arrives (or 5 s pass), keep
  // the slider where the user put it, so the next step builds on it and no step is lost.
  const sentValues = data.sliders.map((s) => s.value);
  const awaiting =
    st.pending != null &&
    performance.now() - st.pending.time < 5000 &&
    st.pending.values.some((v, i) => Math.abs(v - sentValues[i]) > 0.006);
  if (!awaiting) st.pending = null;
  if (data.films) takeFilms(st, data.films);
  else if (last("films", data.id)) filmsArrived(st, last("films", data.id));
  if (data.pad?.sprites) st.padSprites = data.pad.sprites.map((src) => image(src));
  else if (!data.pad) st.padSprites = [];
  // else: Python did not send the pad's sprite again (the browser decodes); keep the one shown.
  update(st, st.dragging || awaiting);
  if (data.pad && !(st.dragging || awaiting)) st.padValue = sentValues.slice(0, 2); // Reset, Random
  if (data.exact === null) confirmInBrowser(st, setStateValue);
  else showExact(st, setStateValue);
  if (data.pad) drawPad(st);
}

/** Python's exact images (the server path, or before the models are ready). */
function showExact(st, setStateValue) {
  const { data } = st;
  stats.serverImages += data.exact.length;
  stats.serverImageChars += data.exact.reduce((n, url) => n + url.length, 0);
  const exact = data.exact.map((src) => image(src));
  const drawExact = () => {
    if (st.dragging) return;
    exact.forEach((img, c) => {
      const canvas = st.dom.canvases[c];
      paint(canvas, img);
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
    st.root.dataset.values = values;
    noteFresh(st);
  };
  Promise.all(exact.map((img) => img.decode().catch(() => null))).then(drawExact).then(() => {
    if (data.browser && !st.runtime) startRuntime(st, setStateValue); // after the first image
    // A new exact image (a new start: another stroke of a drawing) gets its own reading.
    else if (browsing(st) && !st.dragging) {
      requestDecode(st, data.sliders.map((s) => s.value), performance.now(), { readsOnly: true });
    }
  });
}

/** Python answered a release without images: it settled on data.sliders' values (clamped,
 * rounded), which this browser decodes itself, now or as soon as its models are ready. */
function confirmInBrowser(st, setStateValue) {
  const values = st.data.sliders.map((s) => s.value);
  st.root.dataset.values = JSON.stringify(values);
  if (st.data.pad && !st.dragging) st.padValue = [values[0], values[1]];
  if (st.sent !== null) {
    st.released = st.sent;
    st.sent = null;
  }
  const decode = () => requestDecode(st, values, performance.now(), { confirm: true });
  if (st.runtime === "ready") return decode();
  st.afterReady = decode; // a control mounted afresh: decode once its models are ready
  if (!st.runtime) startRuntime(st, setStateValue);
}

/** A slider at ``value``: the browser's decode, else its filmstrip's frame; the pad's dot. */
function drawFrames(st, index, value, eventTime) {
  if (st.dom.pad && index < 2) drawPad(st);
  if (browsing(st)) requestDecode(st, currentValues(st), eventTime);
  else filmFrame(st, index, value, eventTime);
}

function wire(st, setStateValue) {
  let raf = 0;
  const schedule = (fn) => {
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(fn);
  };
  const release = () => {
    st.dragging = false;
    st.sent = performance.now();
    const values = currentValues(st);
    if (st.padValue) {
      values[0] = st.padValue[0];
      values[1] = st.padValue[1];
    }
    st.pending = { values, time: performance.now() };
    if (browsing(st)) {
      // The browser already shows these values exactly: Python only stores them.
      setStateValue("values", { values, shown: true });
      post("settled", st.data.id, { values });
    } else {
      setStateValue("values", values);
    }
  };
  wireSliders(st, schedule, release, drawFrames);
  if (!st.dom.pad) return;
  wirePad(st, schedule, release);
  // The pad's value follows its two sliders at once (a key step releases before the next
  // frame), so that its dot moves with them and a release sends what they show.
  st.dom.inputs.slice(0, 2).forEach(({ input }) => input.addEventListener("input", () => {
    st.padValue = currentValues(st).slice(0, 2);
  }));
}
