// Draw a digit with the mouse or a finger (Streamlit components v2). White ink on black, like
// MNIST. At the end of each stroke the drawing goes to Python as SIDE x SIDE grayscale bytes
// (base64): small to send, and plenty for explorer.images.preprocess_digit, which crops and
// scales it into MNIST's 20x20 box exactly as it does an upload. Clear empties it.

const SIDE = 56;

function send(canvas, setStateValue) {
  const small = document.createElement("canvas");
  small.width = small.height = SIDE;
  const ctx = small.getContext("2d");
  ctx.drawImage(canvas, 0, 0, SIDE, SIDE);
  const rgba = ctx.getImageData(0, 0, SIDE, SIDE).data;
  let text = "";
  for (let i = 0; i < rgba.length; i += 4) text += String.fromCharCode(rgba[i]);
  canvas.dataset.sent = String(Number(canvas.dataset.sent || 0) + 1);
  setStateValue("drawing", { side: SIDE, pixels: btoa(text) });
}

function build(root, size, setStateValue) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  canvas.className = "dc-canvas";
  canvas.setAttribute("aria-label", "Draw a digit here");
  canvas.style.cssText = `width:${size}px;height:${size}px;background:#000;touch-action:none;` +
    "border-radius:4px;cursor:crosshair;display:block";
  const ctx = canvas.getContext("2d");
  const clear = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, size, size); };
  clear();
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = size / 14;
  ctx.lineCap = ctx.lineJoin = "round";
  let drawing = false;
  const at = (e) => {
    const box = canvas.getBoundingClientRect();
    return [(e.clientX - box.left) * size / box.width, (e.clientY - box.top) * size / box.height];
  };
  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 0.1, y);
    ctx.stroke();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const [x, y] = at(e);
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    send(canvas, setStateValue);
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  const button = document.createElement("button");
  button.textContent = "Clear";
  button.className = "dc-clear";
  button.style.cssText = "margin-top:0.4rem;padding:0.25rem 0.9rem;border-radius:0.5rem;" +
    "border:1px solid rgba(49,51,63,0.3);background:transparent;color:inherit;cursor:pointer";
  button.addEventListener("click", () => {
    clear();
    setStateValue("drawing", { side: SIDE, pixels: "" });
  });
  root.append(canvas, button);
}

export default function ({ data, parentElement, setStateValue }) {
  const { size } = JSON.parse(data.json);
  if (!parentElement.querySelector(".dc-root")) {
    const root = document.createElement("div");
    root.className = "dc-root";
    parentElement.appendChild(root);
    build(root, size, setStateValue);
  }
  return undefined;
}
