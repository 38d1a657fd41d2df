// The Latent map (Streamlit components v2; explorer/ui/latent_map.py): two models' maps of the
// same digits side by side (stacked on a phone), linked. Pointing at a digit shows its picture,
// cut from the points' sprite sheet in the browser (as TensorFlow's Embedding Projector does),
// and rings the same digit on the other map; a click or tap picks a digit (with Shift, or the Add
// tool on a phone, adds it), a lasso (the Lasso tool, or Shift + drag) selects digits, and either
// lights up the same digits on both maps at once. Python hears the pick and the selection
// (state "selection": {rows, pick, source, seq}) and answers with the neighbours and the selected
// digits; its payload echoes the last seq it handled, so an older answer never undoes a newer
// lasso. The points, their coordinates and
// colours come as files named by their content (explorer/maps.py), fetched once per page.
// Telemetry: window.__leTelemetry.map (tests and benches read it; see runtime.js).
import { element, mount, paint } from "./dom.js";
import { absolute, telemetry } from "./runtime.js";
import { scale } from "./latent_map_colour.js";
import { createView, draw, drawOver, fit, resize, toScreen, zoom, setPoints } from "./latent_map_view.js";

const log = (telemetry.map = telemetry.map || { renders: 0, draws: 0, ready: false });
const files = new Map(); // URL -> Promise of its JSON or image, once per page
const GAP = 16;
const TOUCH = window.matchMedia?.("(pointer: coarse)").matches; // a phone or tablet

function fetchOnce(url, kind) {
  if (!files.has(url)) {
    const got = kind === "image"
      ? new Promise((resolve, reject) => {
        const img = new Image();
        img.onload = () => resolve(img);
        img.onerror = () => reject(new Error(`${url}: cannot load`));
        img.src = absolute(url);
      })
      : fetch(absolute(url)).then((r) => {
        if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
        return r.json();
      });
    got.catch(() => files.delete(url)); // a failed fetch is tried again on the next render
    files.set(url, got);
  }
  return files.get(url);
}

function build(root) {
  const bar = element("div", "lm-toolbar", root);
  const tools = {};
  for (const [tool, text, tip] of [["pick", "Pick", "Click or tap a digit to pick it"],
    ["add", "Add", "Click or tap digits to add each to the selection (again to drop it)"],
    ["lasso", "Lasso", "Drag around digits to select them (or Shift + drag)"]]) {
    tools[tool] = element("button", "lm-button", bar, text);
    tools[tool].title = tip;
  }
  const buttons = {};
  for (const [name, text, tip] of [["in", "+", "Zoom in"], ["out", "−", "Zoom out"],
    ["reset", "Reset view", "Fit the maps (or double-click a map)"],
    ["clear", "Clear selection", "Unselect every digit on both maps"]]) {
    buttons[name] = element("button", "lm-button", bar, text);
    buttons[name].title = tip;
    buttons[name].setAttribute("aria-label", tip);
  }
  const hint = element("span", "lm-hint", bar);
  const row = element("div", "lm-row", root);
  const legend = element("div", "", root);
  const note = element("div", "lm-note", root);
  const card = element("div", "lm-card", root);
  const tile = element("canvas", "lm-tile", card);
  const caption = element("div", "lm-card-text", card);
  card.hidden = true;
  return { bar, tools, buttons, hint, row, legend, note, card, tile, caption };
}

function setTool(st, tool) {
  st.tool = tool;
  for (const [name, button] of Object.entries(st.dom.tools)) {
    button.classList.toggle("lm-active", name === tool);
    button.setAttribute("aria-pressed", String(name === tool));
  }
  st.views.forEach((v) => { v.tool = tool; v.over.dataset.tool = tool; });
  st.dom.hint.textContent = tool === "lasso"
    ? "Drag around digits to select them on both maps."
    : tool === "add" ? `${TOUCH ? "Tap" : "Click"} digits to add them; again to drop one.`
      : TOUCH ? "Tap a digit to see it and pick it (Add picks more); + and − zoom."
        : "Point at a digit to see it; click to pick it, Shift-click (or Add) to add more. "
          + "Ctrl + wheel zooms; drag pans.";
}

function wire(st) {
  const { tools, buttons } = st.dom;
  for (const tool of Object.keys(tools)) tools[tool].onclick = () => setTool(st, tool);
  const everyView = (f) => { st.views.forEach(f); redraw(st); };
  buttons.in.onclick = () => everyView((v) => zoom(v, 1.5));
  buttons.out.onclick = () => everyView((v) => zoom(v, 1 / 1.5));
  buttons.reset.onclick = () => everyView(fit);
  buttons.clear.onclick = () => choose(st, [], null, null);
  st.handlers = {
    hover: (v, row, e) => hover(st, v, row, e),
    tap: (v, row, e, shift) => {
      if (row === null) return;
      const add = shift || st.tool === "add"; // a phone has no Shift: the Add tool adds
      const rows = add ? [...st.selected].filter((r) => r !== row) : [];
      if (!add || !st.selected.has(row)) rows.push(row); // a second Shift-click drops it again
      choose(st, rows, row, v.name);
      showCard(st, v, row, e);
      clearTimeout(st.cardTimer);
      if (e.pointerType === "touch") st.cardTimer = setTimeout(() => hideCard(st), 2500);
    },
    lasso: (v, rows) => choose(st, rows, st.picked, v.name),
    moved: () => redraw(st),
  };
}

/** A new pick and selection, shown at once on both maps and sent to Python. */
function choose(st, rows, pick, source) {
  st.seq += 1;
  st.selected = new Set(rows);
  st.picked = pick;
  log.selection = { rows: [...rows], pick, source, seq: st.seq };
  redraw(st);
  st.setStateValue("selection", { rows, pick, source, seq: st.seq });
}

function hover(st, v, row, e) {
  const changed = st.hovered !== row;
  st.hovered = row;
  st.views.forEach((w) => { w.ring = row; drawOver(w); });
  if (row === null) { hideCard(st); return; }
  if (changed || st.dom.card.hidden) showCard(st, v, row, e);
  else placeCard(st, e);
}

function showCard(st, v, row, e) {
  const { tile, caption, card } = st.dom;
  const cols = st.data.sprite.cols;
  paint(tile, st.sprite, (row % cols) * 28, Math.floor(row / cols) * 28);
  const [part, index] = where(st.points.parts, row);
  const text = [`digit ${st.points.labels[row]} · ${part} #${index}`];
  const value = st.colour.value(row);
  if (value) text.push(value);
  caption.textContent = text.join("\n");
  card.hidden = false;
  card.dataset.row = String(row);
  card.dataset.map = v.name;
  log.card = { row, map: v.name, shown: performance.now() };
  placeCard(st, e);
}

function placeCard(st, e) {
  const r = st.root.getBoundingClientRect();
  const { card } = st.dom;
  const w = card.offsetWidth;
  let x = e.clientX - r.left + 18;
  if (x + w > r.width) x = e.clientX - r.left - w - 18; // flip to the pointer's left
  card.style.left = `${Math.max(0, x)}px`;
  card.style.top = `${Math.max(0, e.clientY - r.top - card.offsetHeight / 2)}px`;
}

function hideCard(st) {
  st.dom.card.hidden = true;
  if (log.card) log.card.hidden = performance.now();
}

function where(parts, row) {
  let start = 0;
  for (const [part, size] of parts) {
    if (row < start + size) return [part, row - start];
    start += size;
  }
  return ["", row];
}

/** Draw both maps: colours, the selection (the same rows on both), overlays and rings. */
function redraw(st) {
  if (!st.loaded || !st.colour) return;
  const began = performance.now();
  const size = st.points.labels.length > 3000 ? 3 : 5;
  st.views.forEach((v, m) => {
    draw(v, st.colour.of, st.selected, st.data.maps[m].marks || [], size);
    v.picked = st.picked;
    drawOver(v);
    v.base.dataset.selected = String(st.selected.size);
  });
  log.draws += 1;
  log.lastDrawMs = performance.now() - began;
  log.highlighted = st.views.map(() => [...st.selected]);
  log.picked = st.picked;
}

function layout(st) {
  const width = st.root.clientWidth;
  if (!width || !st.views.length) return;
  const side = width >= 640;
  const w = Math.floor(side ? (width - GAP) / 2 : width) - 2; // less the stage's 1 px border
  const h = Math.round(Math.min(st.data.height, side ? st.data.height : w * 0.95));
  st.views.forEach((v) => {
    resize(v, w, h);
    if (v.x) fit(v);
  });
  st.dom.tile.width = st.dom.tile.height = st.data.tile;
  redraw(st);
}

async function load(st) {
  const data = st.data;
  const want = JSON.stringify([data.points, data.maps.map((m) => m.coords), data.overlap, data.sprite.url]);
  if (want === st.loading) return;
  st.loading = want;
  st.dom.note.textContent = "Loading the maps…";
  try {
    const [points, overlap, sprite, ...coords] = await Promise.all([
      fetchOnce(data.points), data.overlap ? fetchOnce(data.overlap) : null,
      fetchOnce(data.sprite.url, "image"), ...data.maps.map((m) => fetchOnce(m.coords)),
    ]);
    if (st.loading !== want) return; // a newer render asked for other files meanwhile
    Object.assign(st, { points, overlap: overlap ? overlap.values : [], sprite });
    if (st.views.length !== data.maps.length) {
      st.dom.row.replaceChildren();
      st.views = data.maps.map((m) => createView(st.dom.row, m.title, st.handlers));
      setTool(st, st.tool);
    }
    st.views.forEach((v, m) => { v.name = data.maps[m].name; v.base.dataset.map = v.name; });
    st.loaded = true;
    layout(st);
    st.views.forEach((v, m) => { setPoints(v, Float64Array.from(coords[m].x), Float64Array.from(coords[m].y)); });
    st.dom.note.textContent = "";
    // readyMs: since the page's navigation began (what a first open costs, measured by benches)
    Object.assign(log, { ready: true, readyMs: log.readyMs ?? performance.now(),
      n: points.labels.length, maps: data.maps.map((m) => m.name) });
    render(st);
  } catch (err) {
    st.loading = null;
    st.dom.note.textContent = `The maps could not load (${err.message || err}).`;
    log.error = String(err.message || err);
  }
}

/** Apply Python's payload to what is loaded: titles, colours, selection, overlays. */
function render(st) {
  const data = st.data;
  if (!st.loaded) return;
  st.views.forEach((v, m) => { v.head.textContent = data.maps[m].title; });
  st.colour = scale(data.colour, st.points, st.overlap, data.digitColors);
  st.dom.legend.replaceChildren();
  st.colour.legend(st.dom.legend);
  if (data.seq >= st.seq) { // Python has caught up with every pick and lasso sent
    st.seq = data.seq;
    st.selected = new Set(data.selected);
    st.picked = data.picked;
  }
  Object.assign(log, { method: data.method, colour: data.colour.by, seq: st.seq });
  redraw(st);
}

export default function ({ data: raw, parentElement, setStateValue }) {
  const data = JSON.parse(raw.json); // one string (see explorer/ui/latent_map.py)
  const st = mount(parentElement, "lm-root", (root) => {
    const s = { root, dom: build(root), views: [], seq: 0, selected: new Set(), picked: null,
      tool: "pick", loaded: false };
    wire(s);
    new ResizeObserver(() => layout(s)).observe(root);
    return s;
  });
  st.data = data;
  st.setStateValue = setStateValue;
  log.renders += 1;
  log.mountedMs = log.mountedMs ?? performance.now(); // Streamlit and the page's script done
  // Where a map's digit is on the screen (client px): for tests and benches.
  log.locate = (m, row) => {
    const v = st.views[m];
    const r = v.over.getBoundingClientRect();
    const [x, y] = toScreen(v, v.x[row], v.y[row]);
    return [r.left + x, r.top + y];
  };
  setTool(st, st.tool);
  if (st.loaded) render(st);
  load(st);
}
