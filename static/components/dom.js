// The components' elements (static/components/*.js): a component's root and the state it keeps
// across Streamlit's renders (mount), the elements it builds, and drawing on canvases: Python's
// images (data URLs) and the grey levels that the models decode in the browser (runtime.js).

const states = new WeakMap(); // a component's root element -> its state, kept across renders

/** A component's root (a ``tag`` of class ``className`` in Streamlit's ``parentElement``, made on
 * its first render) and its state, ``init(root)`` on that render. */
export function mount(parentElement, className, init, tag = "div") {
  let root = parentElement.querySelector(`.${className}`);
  if (!root) {
    root = document.createElement(tag);
    root.className = className;
    parentElement.appendChild(root);
  }
  if (!states.has(root)) states.set(root, init(root));
  return states.get(root);
}

/** A new ``tag`` element of class ``className`` saying ``text``, appended to ``parent``. */
export function element(tag, className = "", parent = null, text = "") {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text) el.textContent = text;
  if (parent) parent.append(el);
  return el;
}

/** A figure in ``parent``: a ``size`` px canvas of class ``className``, an image named ``label``,
 * over its caption (of class ``captionClass``, saying ``caption``). */
export function figure(parent, size, label, className, captionClass = "", caption = label) {
  const fig = element("figure", "", parent);
  const canvas = element("canvas", className, fig);
  canvas.width = canvas.height = size;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  return { canvas, caption: element("figcaption", captionClass, fig, caption) };
}

/** An image element loading ``src`` (a data URL from Python). */
export function image(src, onload = null) {
  const img = new Image();
  if (onload) img.onload = () => onload(img);
  img.src = src;
  return img;
}

/** Draw ``img`` (or its 28 x 28 tile at ``sx``, ``sy``) over the canvas, without smoothing. */
export function paint(canvas, img, sx = null, sy = 0) {
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  if (sx === null) ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  else ctx.drawImage(img, sx, sy, 28, 28, 0, 0, canvas.width, canvas.height);
}

/** Draw grey levels (784 from ``offset``) on a canvas, scaled up without smoothing. */
export function draw(canvas, pixels, offset = 0) {
  const tile = draw.tile || (draw.tile = document.createElement("canvas"));
  tile.width = tile.height = 28;
  const tctx = tile.getContext("2d");
  const data = tctx.createImageData(28, 28);
  for (let i = 0; i < 784; i += 1) {
    const v = pixels[offset + i];
    data.data[4 * i] = data.data[4 * i + 1] = data.data[4 * i + 2] = v;
    data.data[4 * i + 3] = 255;
  }
  tctx.putImageData(data, 0, 0);
  paint(canvas, tile);
}
