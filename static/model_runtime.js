// Model runtime: runs the app's exported ONNX models (explorer/onnx_export.py) in the browser
// with ONNX Runtime Web's WebAssembly backend, so that a live control can decode an exact image
// on every animation frame without asking the server (issue 11). A plain ES module, served by
// Streamlit from static/ (server.enableStaticServing) and imported by the live control with a
// dynamic import() once its first, server-decoded image is on screen: the 14 MB runtime never
// delays the first image.
//
// One thread (no SharedArrayBuffer, so no cross-origin isolation needed), one session per model
// file, runs of a session one after another. The runtime's .wasm and the models come gzipped
// (.gz, served as they are: Streamlit would otherwise gzip them again for every student, which
// cost the server about 0.4 s of CPU per student) and are inflated here (DecompressionStream).
// Every call resolves with what the app shows:
//   decode(url, codes, n)   codes Float32Array (n*d) -> Uint8ClampedArray (n*784) grey levels,
//                           rounded as explorer/images.to_uint8 rounds (floor(255 x + 0.5))
//   encode(url, pixels, n)  Float32Array (n*784) in [0, 1] -> Float32Array (n*d) codes
//   classify(url, pixels, n) -> Float32Array (n*10) class probabilities
// Timings (ms) land in window.__leRuntime for bench/ and tests.

const VENDOR = new URL("./vendor/onnxruntime-web/", import.meta.url);
const KEEP = 2000; // timing samples kept

export const stats = (window.__leRuntime = window.__leRuntime || {
  loadMs: null, error: null, runs: {},
});

let runtime = null; // Promise<ort module>
const sessions = new Map(); // model URL -> Promise<{session, queue}>

/** Import ONNX Runtime Web once; rejects (and records why) when it or WebAssembly cannot load. */
export function load() {
  if (!runtime) {
    const began = performance.now();
    runtime = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
      if (typeof DecompressionStream !== "function") throw new Error("this browser cannot inflate gzip");
      const [ort, wasm] = await Promise.all([
        import(new URL("ort.wasm.bundle.min.mjs", VENDOR).href),
        bytes(new URL("ort-wasm-simd-threaded.wasm.gz", VENDOR).href),
      ]);
      ort.env.wasm.numThreads = 1;
      // The runtime itself, as bytes (the Emscripten glue is inside the bundle).
      ort.env.wasm.wasmBinary = wasm;
      return ort;
    })();
    runtime.then(
      () => { stats.loadMs = performance.now() - began; },
      (err) => { stats.error = String(err && err.message || err); },
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
  if (!sessions.has(url)) {
    const made = load().then(async (ort) => ({
      ort,
      session: await ort.InferenceSession.create(await bytes(url), { executionProviders: ["wasm"] }),
      queue: Promise.resolve(),
    }));
    made.catch((err) => { stats.error = String(err && err.message || err); });
    sessions.set(url, made);
  }
  return sessions.get(url);
}

function record(kind, n, ms) {
  const list = (stats.runs[`${kind}:${n}`] = stats.runs[`${kind}:${n}`] || []);
  list.push(ms);
  if (list.length > KEEP) list.splice(0, list.length - KEEP);
}

/** Run one model on a (n, ...shape) float input; resolves with the output's Float32Array. */
async function run(kind, url, input, n, shape) {
  const s = await session(url);
  const job = s.queue.then(async () => {
    const began = performance.now();
    const tensor = new s.ort.Tensor("float32", input, [n, ...shape]);
    const out = await s.session.run({ [s.session.inputNames[0]]: tensor });
    const data = out[s.session.outputNames[0]].data;
    record(kind, n, performance.now() - began);
    return data;
  });
  s.queue = job.catch(() => null); // a failed run does not block the next one
  return job;
}

/** Grey levels (n*784) of the decoder at codes (n*d). */
export async function decode(url, codes, n) {
  const d = codes.length / n;
  const images = await run("decode", url, codes, n, [d]);
  const pixels = new Uint8ClampedArray(images.length);
  for (let i = 0; i < images.length; i += 1) {
    pixels[i] = Math.floor(Math.min(1, Math.max(0, images[i])) * 255 + 0.5);
  }
  return pixels;
}

/** Codes (n*d) of n digits given as 784 values in [0, 1] each. */
export function encode(url, pixels, n) {
  return run("encode", url, pixels, n, [1, 28, 28]);
}

/** Class probabilities (n*10) of n digits given as 784 values in [0, 1] each. */
export function classify(url, pixels, n) {
  return run("classify", url, pixels, n, [1, 28, 28]);
}

/** Draw grey levels (784 from ``offset``) on a canvas, scaled up without smoothing. */
export function draw(canvas, pixels, offset = 0) {
  const tile = draw.tile || (draw.tile = document.createElement("canvas"));
  tile.width = tile.height = 28;
  const tctx = tile.getContext("2d");
  const image = tctx.createImageData(28, 28);
  for (let i = 0; i < 784; i += 1) {
    const v = pixels[offset + i];
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = v;
    image.data[4 * i + 3] = 255;
  }
  tctx.putImageData(image, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tile, 0, 0, canvas.width, canvas.height);
}
