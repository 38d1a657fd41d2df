// The live control's 2-D pad (live_control.js): one pointer moves the first two sliders at once.
// It shows what it picks: Python's decoded n x n sprite (evenly spaced over [low, high]^2) under
// the pointer, its axes labelled with the sliders' names and ends, and a dot at the value. While
// it moves, the image comes from the browser's models when they are ready (live_control_decode.js),
// else from the sprite's nearest tile; the arrow keys step it by one tile and release at once.
import { currentValues, setSliders } from "./live_control_dom.js";
import { requestDecode } from "./live_control_decode.js";
import { frameIndex, showFrame } from "./live_control_films.js";

export function drawPad(st) {
  const { pad } = st.dom;
  const p = st.data.pad;
  const ctx = pad.getContext("2d");
  ctx.clearRect(0, 0, pad.width, pad.height);
  const sprite = st.padSprites[0];
  const loaded = sprite && sprite.complete && sprite.naturalWidth;
  if (loaded) {
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = 0.75;
    ctx.drawImage(sprite, 0, 0, pad.width, pad.height);
    ctx.globalAlpha = 1;
  } else if (sprite) {
    sprite.addEventListener("load", () => drawPad(st), { once: true });
  }
  pad.dataset.drawn = loaded ? "digits" : "blank";
  ctx.strokeStyle = "rgba(128,128,128,0.6)";
  ctx.strokeRect(0.5, 0.5, pad.width - 1, pad.height - 1);
  // Axis labels in proportion to the pad: 20 px on a projector's 280 px pad, 17 px at 240 px.
  const px = Math.max(14, Math.round(pad.width / 14));
  pad.dataset.labelPx = String(px);
  ctx.font = `bold ${px}px sans-serif`;
  ctx.fillStyle = "#ffd54f";
  ctx.textBaseline = "bottom";
  ctx.textAlign = "left";
  ctx.fillText(`${p.low}`, 3, pad.height - 2);
  ctx.textAlign = "right";
  ctx.fillText(`${p.labels[0]} → ${p.high}`, pad.width - 3, pad.height - 2);
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(`${p.labels[1]} ↑ ${p.high}`, 3, 3);
  const x = ((st.padValue?.[0] ?? p.x) - p.low) / (p.high - p.low) * pad.width;
  const y = (1 - ((st.padValue?.[1] ?? p.y) - p.low) / (p.high - p.low)) * pad.height;
  ctx.fillStyle = "#ff4b4b";
  ctx.beginPath();
  ctx.arc(x, y, 6, 0, 2 * Math.PI);
  ctx.fill();
}

/** The pad at ``value`` (two slider values), drawn for a move that happened at ``t``. */
function show(st, value, t) {
  st.padValue = value;
  setSliders(st, value);
  drawPad(st);
  if (st.runtime === "ready" && st.data.browser) {
    requestDecode(st, currentValues(st), t);
    return;
  }
  const p = st.data.pad;
  const col = frameIndex(value[0], p.low, p.high, p.n);
  const row = p.n - 1 - frameIndex(value[1], p.low, p.high, p.n);
  showFrame(st, st.padSprites, col * 28, row * 28, `${col},${row}`, t);
}

export function wirePad(st, schedule, release) {
  const { pad } = st.dom;
  const toValue = (event) => {
    const rect = pad.getBoundingClientRect();
    const p = st.data.pad;
    const fx = Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
    const fy = Math.max(0, Math.min(1, (event.clientY - rect.top) / rect.height));
    return [p.low + fx * (p.high - p.low), p.low + (1 - fy) * (p.high - p.low)];
  };
  const move = (event) => {
    const v = toValue(event);
    const t = event.timeStamp;
    schedule(() => show(st, v, t));
  };
  pad.addEventListener("pointerdown", (event) => {
    st.dragging = true;
    pad.setPointerCapture(event.pointerId);
    move(event);
  });
  pad.addEventListener("pointermove", (event) => { if (st.dragging) move(event); });
  pad.addEventListener("pointerup", release);
  pad.addEventListener("keydown", (event) => {
    const p = st.data.pad;
    const step = (p.high - p.low) / (p.n - 1);
    const moves = {
      ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step],
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const base = st.padValue || [p.x, p.y];
    const clamp = (v) => Math.max(p.low, Math.min(p.high, v));
    st.dragging = true;
    const [dx, dy] = moves[event.key];
    show(st, [clamp(base[0] + dx), clamp(base[1] + dy)], event.timeStamp);
    release();
  });
}
