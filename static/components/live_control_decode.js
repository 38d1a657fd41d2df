// The live control in the browser (live_control.js): once its models are ready (runtime.js),
// every animation frame of any move (a slider, the pad, λ for each channel) decodes the exact
// image of the newest values, older requests being dropped, and the classifier reads it at most
// every READ_MS while dragging and once more when the pointer rests. If the models cannot load,
// the control says so once and tells Python, which then draws it on the server path.
import { currentValues } from "./live_control_dom.js";
import { draw } from "./dom.js";
import { codeFor, decode, fail, post, readsCaption, reading, record, start, telemetry, why }
  from "./runtime.js";

const stats = telemetry.control;
const READ_MS = 120; // the classifier runs at most this often while dragging (8/s)
const INSTEAD = "the server decodes each position on release instead";

/** The control's decoders and classifier, as runtime.start loads them. */
function models(b) {
  return [...b.channels.map((c) => c.decoder), ...(b.classifier ? [b.classifier] : [])];
}

export async function startRuntime(st, setStateValue) {
  st.runtime = "loading";
  const ready = await start(st.root, models(st.data.browser),
    { note: st.dom.note, instead: INSTEAD, setStateValue });
  st.runtime = ready ? "ready" : "failed"; // failed: said once, and never retried
  if (!ready) return;
  post("control", st.data.id, { browser: st.data.browser, ready: true });
  post("ready", st.data.id, {});
  if (st.afterReady) st.afterReady();
  else requestDecode(st, currentValues(st), performance.now(), { readsOnly: true });
  st.afterReady = null;
}

/** Python remembers a runtime that failed: a control drawn again elsewhere still says so. */
export function showFailure(st) {
  st.runtime = "failed";
  fail(st.root, st.dom.note, INSTEAD);
}

/** Ask for the image at ``values``; the newest request wins (a frame never decodes stale values).
 * ``confirm``: the values Python settled on, drawn even when not dragging; ``readsOnly``: only
 * the classifier's reading of the current image. */
export function requestDecode(st, values, eventTime, { readsOnly = false, confirm = false } = {}) {
  st.want = { values, eventTime, readsOnly, confirm };
  if (!st.busy) pump(st);
}

async function pump(st) {
  st.busy = true;
  while (st.want) {
    const { values, eventTime, readsOnly, confirm } = st.want;
    st.want = null;
    const b = st.data.browser;
    if (!b) break;
    try {
      const shown = await Promise.all(
        b.channels.map((spec) => decode(spec.decoder, codeFor(spec, values), 1)));
      const key = JSON.stringify(values);
      // An exact image of the same values from Python wins; anything else is older than this.
      const fresh = confirm
        ? !st.dragging
        : !readsOnly && (st.dragging || st.root.dataset.values !== key);
      if (fresh) {
        shown.forEach((pixels, c) => {
          const canvas = st.dom.canvases[c];
          draw(canvas, pixels);
          canvas.dataset.source = "browser";
          canvas.dataset.values = key;
        });
        st.shown = shown;
        stats.frames += 1;
        stats.browserFrames += 1;
        record(stats.inputToFrame, performance.now() - eventTime);
        if (confirm && st.released != null) {
          record(stats.releaseToExact, performance.now() - st.released);
          st.released = null;
        }
      }
      if (b.classifier) readSoon(st, b, shown, !st.dragging || readsOnly);
    } catch (err) {
      stats.error = why(err);
    }
  }
  st.busy = false;
}

/** The classifier's reading of ``shown``: now when ``now`` or READ_MS have passed since the last
 * one, else once the drag pauses (the last image always gets its reading). */
function readSoon(st, b, shown, now) {
  clearTimeout(st.readTimer);
  const wait = now ? 0 : READ_MS - (performance.now() - (st.readAt || 0));
  if (wait <= 0) {
    st.readAt = performance.now();
    showReads(st, b, shown).catch((err) => { stats.error = why(err); });
  } else {
    st.readTimer = setTimeout(() => readSoon(st, b, st.shown || shown, true), wait);
  }
}

async function showReads(st, b, shown) {
  const reads = await reading(b.classifier, shown);
  stats.reads += 1;
  reads.forEach((r, c) => { st.dom.reads[c].textContent = readsCaption(r); });
}
