// The browser runtime: the one module that every component in this folder imports. Streamlit
// serves this folder at app/static/components/ (server.enableStaticServing) and a page holds one
// instance of each module (ES modules are cached by URL), so what is kept here is shared:
//   - the models: ONNX Runtime Web (WebAssembly, static/vendor/onnxruntime-web) runs the app's
//     exported graphs (explorer/onnx_export.py), so that a view decodes on every animation
//     frame without asking the server (issue 11). One thread (no SharedArrayBuffer, so no
//     cross-origin isolation), one session per model file, its runs one after another. The
//     runtime's .wasm and the models come gzipped (.gz, sent as they are: Streamlit would gzip
//     them again for every student, about 0.4 s of server CPU each) and are inflated here. The
//     14 MB runtime loads only when a component calls start() or a model: never before the
//     page's first image.
//       decode(url, codes, n)    Float32Array (n*d) -> Uint8ClampedArray (n*784) grey levels,
//                                rounded as explorer/images.to_uint8 rounds (floor(255 x + 0.5))
//       encode(url, pixels, n)   Float32Array (n*784) in [0, 1] -> Float32Array (n*d) codes
//       classify(url, pixels, n) -> Float32Array (n*10) class probabilities
//     A model's url may be page-relative, as Python sends it.
//   - start(): a component's models loaded, or the note it shows once when they cannot load;
//   - codeFor(): a control's code at its slider values; reading(): the classifier's caption;
//   - post / listen / last: messages between components (below), instead of window globals.
// Building and drawing the components' elements is dom.js's.
//
// Telemetry: window.__leTelemetry, the one object that tests/ and bench/ read. This module makes
// it; each component writes only its own part:
//   runtime  {loadMs, error, runs: {"decode:1": [ms, ...], ...}}
//   control  live controls: frames drawn while moving (frames, browserFrames), latencies in ms
//            (inputToFrame, releaseToExact, releaseToFresh), exacts [{values, fresh}], films
//            [{at, time}], serverImages, serverImageChars, reads, stripDecodes, firstExactEpochMs
//   draw     the drawing canvas's last live update {updates, time, gray, digit, recons, points}
//   probe    the atlas probe's images {shown: [{source, point, channel, time, pixels?}], error}
//   map      the Latent map (latent_map.js, which adds it): ready, n, method, colour, selection
//            {rows, pick, source, seq}, card {row, map}, draws, lastDrawMs, mountedMs, readyMs,
//            and locate(m, row), a digit's position on the screen
//
// Messages: post(topic, id, message) hands ``message`` to every listener of ``topic`` with the
// sender's id, and keeps it as last(topic, id) for a component that mounts later.
//   "films"    live_films.js -> live control `id`: fresh filmstrips {frames, filmsAt}
//   "control"  live control `id` -> its strip: {browser} on every render (read with last)
//   "ready"    live control `id` -> its strip: its models are ready
//   "settled"  live control `id` -> its strip: {values} a release showed in the browser

const KEEP = 2000; // samples kept per list
const VENDOR = new URL("../vendor/onnxruntime-web/", import.meta.url);
const WASM = ["wasm"]; // ONNX Runtime Web's WebAssembly backend

export const telemetry = (window.__leTelemetry = window.__leTelemetry || {
  runtime: { loadMs: null, error: null, runs: {} },
  control: {
    inputToFrame: [], releaseToExact: [], releaseToFresh: [], exacts: [], films: [], frames: 0,
    browserFrames: 0, serverImages: 0, serverImageChars: 0, reads: 0, stripDecodes: 0,
  },
  draw: { updates: 0 },
  probe: { shown: [], error: null },
});

/** ``url`` made absolute against the page (Python sends page-relative URLs). */
export function absolute(url) {
  return new URL(url, document.baseURI).href;
}

/** Append ``value`` to ``list``, keeping its last ``keep`` entries. */
export function record(list, value, keep = KEEP) {
  list.push(value);
  if (list.length > keep) list.splice(0, list.length - keep);
}

export function why(err) {
  return String(err?.message || err);
}

// ---- The models -------------------------------------------------------------------------------

let runtime = null; // Promise<ort module>
const sessions = new Map(); // absolute model URL -> Promise<{ort, session, queue}>

/** Import ONNX Runtime Web once; rejects (and records why) when it or WebAssembly cannot load. */
export function load() {
  if (!runtime) {
    const began = performance.now();
    runtime = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
      if (typeof DecompressionStream !== "function") throw new Error("this browser has no gzip");
      const [ort, wasm] = await Promise.all([
        import(new URL("ort.wasm.bundle.min.mjs", VENDOR).href),
        bytes(new URL("ort-wasm-simd-threaded.wasm.gz", VENDOR).href),
      ]);
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmBinary = wasm; // the runtime itself, as bytes (the glue is in the bundle)
      return ort;
    })();
    runtime.then(
      () => { telemetry.runtime.loadMs = performance.now() - began; },
      (err) => { telemetry.runtime.error = why(err); },
    );
  }
  return runtime;
}

/** The bytes at ``url``, inflated when its name ends in .gz; rejects on any HTTP error. */
async function bytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const body = url.endsWith(".gz")
    ? new Response(response.body.pipeThrough(new DecompressionStream("gzip")))
    : response;
  return new Uint8Array(await body.arrayBuffer());
}

/** The inference session of one model file (created once per URL). */
export function session(url) {
  const key = absolute(url);
  if (!sessions.has(key)) {
    const made = load().then(async (ort) => ({
      ort,
      session: await ort.InferenceSession.create(await bytes(key), { executionProviders: WASM }),
      queue: Promise.resolve(),
    }));
    made.catch((err) => { telemetry.runtime.error = why(err); });
    sessions.set(key, made);
  }
  return sessions.get(key);
}

/** Run one model on a (n, ...shape) float input; resolves with the output's Float32Array. */
async function run(kind, url, input, n, shape) {
  const s = await session(url);
  const job = s.queue.then(async () => {
    const began = performance.now();
    const tensor = new s.ort.Tensor("float32", input, [n, ...shape]);
    const out = await s.session.run({ [s.session.inputNames[0]]: tensor });
    const runs = telemetry.runtime.runs;
    record((runs[`${kind}:${n}`] = runs[`${kind}:${n}`] || []), performance.now() - began);
    return out[s.session.outputNames[0]].data;
  });
  s.queue = job.catch(() => null); // a failed run does not block the next one
  return job;
}

/** Values in [0, 1] as grey levels 0..255, rounded as explorer.images.to_uint8 rounds. */
export function toGrey(values) {
  return Uint8ClampedArray.from(values, (v) => Math.floor(Math.min(1, Math.max(0, v)) * 255 + 0.5));
}

/** Grey levels (n*784) of the decoder at codes (n*d). */
export async function decode(url, codes, n) {
  return toGrey(await run("decode", url, codes, n, [codes.length / n]));
}

/** Codes (n*d) of n digits given as 784 values in [0, 1] each. */
export function encode(url, pixels, n) {
  return run("encode", url, pixels, n, [1, 28, 28]);
}

/** Class probabilities (n*10) of n digits given as 784 values in [0, 1] each. */
export function classify(url, pixels, n) {
  return run("classify", url, pixels, n, [1, 28, 28]);
}

// ---- Loading for a component, and its note when the models cannot load ------------------------

/** Load the models at ``urls`` for the component at ``root``: its data-runtime goes "loading",
 * then "ready" or "failed". On failure the component's ``note`` says so (fail) and Python hears
 * it (state `runtime` = "failed"), once: it never retries. Resolves whether it is ready. */
export async function start(root, urls, { note, instead, setStateValue }) {
  root.dataset.runtime = "loading";
  try {
    await Promise.all(urls.map(session));
    root.dataset.runtime = "ready";
    return true;
  } catch (err) {
    telemetry.runtime.error = why(err);
    fail(root, note, instead);
    setStateValue("runtime", "failed");
    return false;
  }
}

/** Say, in ``note``, that the models could not load and what the page does ``instead``. */
export function fail(root, note, instead) {
  root.dataset.runtime = "failed";
  note.hidden = false;
  note.textContent =
    `The models could not load in this browser (WebAssembly or the model files), so ${instead}.`;
}

// ---- Codes and readings ------------------------------------------------------------------------

/** The code of one channel at the slider values: origin + values @ basis, or λ between a and b
 * (explorer/latent.py: lerp, and slerp with its fallback to lerp for (anti)parallel ends). */
export function codeFor(spec, values) {
  if (spec.a) {
    const lam = values[0];
    const { a, b } = spec;
    let wa = lam;
    let wb = 1 - lam;
    if (spec.mode === "spherical") {
      const dot = a.reduce((acc, v, i) => acc + v * b[i], 0);
      const na = Math.hypot(...a);
      const nb = Math.hypot(...b);
      const omega = Math.acos(Math.max(-1, Math.min(1, dot / Math.max(na * nb, 1e-12))));
      if (Math.abs(Math.sin(omega)) >= 1e-6) {
        wa = Math.sin(lam * omega) / Math.sin(omega);
        wb = Math.sin((1 - lam) * omega) / Math.sin(omega);
      }
    }
    return Float32Array.from(a, (v, i) => wa * v + wb * b[i]);
  }
  const z = Float32Array.from(spec.origin);
  spec.basis.forEach((row, k) => {
    const c = values[k];
    if (c) row.forEach((v, j) => { z[j] += c * v; });
  });
  return z;
}

/** The classifier's reading of each image (784 grey levels each): [{digit, p}]. */
export async function reading(url, images) {
  const x = new Float32Array(images.length * 784);
  images.forEach((pixels, c) => pixels.forEach((v, i) => { x[c * 784 + i] = v / 255; }));
  const probs = await classify(url, x, images.length);
  return images.map((_, c) => {
    const p = Array.from(probs.slice(c * 10, c * 10 + 10));
    const digit = p.indexOf(Math.max(...p));
    return { digit, p: p[digit] };
  });
}

/** "reads 3 (97 %)"; with ``fraction`` "reads 3 (0.97)", as Python's captions put it. */
export function readsCaption({ digit, p }, fraction = false) {
  return `reads ${digit} (${fraction ? p.toFixed(2) : `${(100 * p).toFixed(0)} %`})`;
}

// ---- Messages between components ---------------------------------------------------------------

const board = new Map(); // topic -> {last: Map(id -> message), listeners: Set}

function topicOf(topic) {
  if (!board.has(topic)) board.set(topic, { last: new Map(), listeners: new Set() });
  return board.get(topic);
}

/** Send ``message`` from (or to) component ``id`` to every listener of ``topic``. */
export function post(topic, id, message) {
  const t = topicOf(topic);
  t.last.set(id, message);
  for (const listener of [...t.listeners]) listener(message, id);
}

/** Call ``listener(message, id)`` for every later post on ``topic``; returns its removal. */
export function listen(topic, listener) {
  const t = topicOf(topic);
  t.listeners.add(listener);
  return () => t.listeners.delete(listener);
}

/** The last message posted on ``topic`` for ``id`` (undefined when none). */
export function last(topic, id) {
  return board.get(topic)?.last.get(id);
}
