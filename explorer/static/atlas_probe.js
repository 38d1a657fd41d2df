// Atlas probe (Streamlit components v2): under the AE vs VAE atlases, both models' digit at one
// point of their shared latent plane, decoded in the browser (static/model_runtime.js) as the
// pointer moves over either atlas (a preview) and at once when it clicks (issue 11). The atlases
// are Streamlit's own plotly charts (keys in data.charts); the probe listens to their
// plotly_hover, plotly_unhover and plotly_click events. A click still selects the point in the
// chart, which reruns the page: Python, the source of truth, puts it in the URL and sends its own
// decode here (data.exact), which replaces the browser's. If the runtime cannot load, the probe
// says so once and shows only Python's decode, after each click's rerun.
// Every image it draws is logged in window.__leProbe (source, point, time, pixels) for tests.

const log = (window.__leProbe = window.__leProbe || { shown: [], error: null });
const KEEP = 200;

function absolute(url) {
  return new URL(url, document.baseURI).href;
}

function record(entry) {
  log.shown.push({ ...entry, time: performance.now() });
  if (log.shown.length > KEEP) log.shown.splice(0, log.shown.length - KEEP);
}

function build(root, data) {
  const row = document.createElement("div");
  row.style.cssText = "display:flex;flex-wrap:wrap;gap:1rem";
  const figures = data.labels.map((label) => {
    const fig = document.createElement("figure");
    fig.style.cssText = "margin:0;display:flex;flex-direction:column;gap:0.2rem";
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = data.size;
    canvas.className = "ap-canvas";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${label}: decoded point`);
    canvas.style.cssText = `width:${data.size}px;height:${data.size}px;border-radius:4px;background:#000`;
    const caption = document.createElement("figcaption");
    caption.className = "ap-caption";
    caption.style.cssText = `max-width:${Math.max(data.size, 220)}px;font-size:0.9rem`;
    fig.append(canvas, caption);
    row.append(fig);
    return { canvas, caption };
  });
  const note = document.createElement("div");
  note.className = "ap-note";
  note.hidden = true;
  note.style.cssText = "font-size:0.85rem;opacity:0.8;margin-top:0.3rem";
  root.append(row, note);
  return { figures, note };
}

/** Python's decode of its point (on every run): shown unless the pointer is over an atlas. */
function showExact(st) {
  const { data } = st;
  const turn = (st.drawn += 1); // an image decoded later than the browser's next draw is older
  st.dom.figures.forEach(({ canvas, caption }, c) => {
    const img = new Image();
    img.onload = () => {
      if (st.hovering || turn !== st.drawn) return;
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      canvas.dataset.source = "exact";
      canvas.dataset.point = JSON.stringify(data.point);
      caption.textContent = data.captions[c];
      record({ source: "exact", point: data.point, channel: c });
    };
    img.src = data.exact[c];
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
    gd.__leProbe = st.root; // handlers read the probe through this, however often it re-renders
    if (gd.__leHooked) return;
    gd.__leHooked = true;
    const probe = () => gd.__leProbe?.isConnected && gd.__leProbe.__ap;
    gd.on("plotly_hover", (e) => { const s = probe(); if (s) preview(s, pointOf(e), "hover"); });
    gd.on("plotly_unhover", () => { const s = probe(); if (s) leave(s); });
    gd.on("plotly_click", (e) => { const s = probe(); if (s) preview(s, pointOf(e), "click"); });
  });
  return missing;
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
      const images = await Promise.all(b.decoders.map((u) => st.rt.decode(absolute(u), z, 1)));
      const x = new Float32Array(images.length * 784);
      images.forEach((pixels, c) => pixels.forEach((v, i) => { x[c * 784 + i] = v / 255; }));
      const probs = await st.rt.classify(absolute(b.classifier), x, images.length);
      if (kind === "hover" && !st.hovering) continue; // the pointer left meanwhile
      st.drawn += 1;
      images.forEach((pixels, c) => {
        const { canvas, caption } = st.dom.figures[c];
        st.rt.draw(canvas, pixels);
        canvas.dataset.source = kind === "click" ? "browser" : "hover";
        canvas.dataset.point = JSON.stringify(point);
        const p = Array.from(probs.slice(c * 10, c * 10 + 10));
        const digit = p.indexOf(Math.max(...p));
        caption.textContent = `${st.data.labels[c]} at (${point[0].toFixed(2)}, ` +
          `${point[1].toFixed(2)}): reads ${digit} (${p[digit].toFixed(2)})` +
          (kind === "hover" ? " · pointer" : "");
        record({ source: canvas.dataset.source, point, channel: c, pixels: Array.from(pixels) });
      });
    }
  } catch (err) {
    log.error = String(err?.message || err);
  } finally {
    st.busy = false;
  }
}

async function loadRuntime(st) {
  const b = st.data.browser;
  st.runtime = "loading";
  st.root.dataset.runtime = "loading";
  try {
    const rt = await import(absolute(b.runtime));
    await Promise.all([...b.decoders, b.classifier].map((u) => rt.session(absolute(u))));
    st.rt = rt;
    st.runtime = "ready";
  } catch (err) {
    st.runtime = "failed";
    log.error = String(err?.message || err);
    st.dom.note.hidden = false; // said once: the probe keeps this note and never retries
    st.dom.note.textContent =
      "The models could not load in this browser (WebAssembly or the model files), so a " +
      "clicked point is decoded on the server.";
    st.setStateValue("runtime", "failed");
  }
  st.root.dataset.runtime = st.runtime;
}

export default function ({ data: raw, parentElement, setStateValue }) {
  const data = JSON.parse(raw.json); // sent as one string (see explorer/ui/browser_views.py)
  let root = parentElement.querySelector(".ap-root");
  if (!root) {
    root = document.createElement("div");
    root.className = "ap-root";
    parentElement.appendChild(root);
    root.__ap = { root, dom: build(root, data), drawn: 0 };
  }
  const st = root.__ap;
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
  return undefined;
}
