// The live control's server path (live_control.js): filmstrips, sprites of 28 x 28 frames that
// Python decoded across each slider's range (and the pad's n x n grid), drawn under the pointer
// while the control moves when the browser cannot decode itself. Fresh filmstrips come from a
// second component (live_films.js, message "films") later in the run that Python answers a
// release with; a filmstrip is used only while the other sliders sit where it was made (filmsAt),
// so a drag in between never shows frames of the old code.
import { image, paint } from "./dom.js";
import { record, telemetry } from "./runtime.js";

const stats = telemetry.control;

/** Which of ``k`` frames evenly spaced over [low, high] is nearest to ``value``. */
export function frameIndex(value, low, high, k) {
  if (high <= low) return 0;
  const t = (value - low) / (high - low);
  return Math.max(0, Math.min(k - 1, Math.round(t * (k - 1))));
}

/** Take ``films`` ({frames, filmsAt}) unless they are the ones shown; true when they are new. */
export function takeFilms(st, films) {
  const signature = films.frames.flat().join("|");
  if (st.filmsSignature === signature) return false; // the same sprites again (a rerun)
  st.filmsSignature = signature;
  st.sprites = films.frames.map((perChannel) => perChannel.map((src) => image(src)));
  st.filmsAt = films.filmsAt;
  return true;
}

/** Fresh filmstrips from live_films.js: taken, counted, and timed from the release they answer. */
export function filmsArrived(st, films) {
  if (!takeFilms(st, films)) return;
  record(stats.films, { at: JSON.stringify(films.filmsAt), time: performance.now() });
  noteFresh(st);
}

export function noteFresh(st) {
  const at = JSON.stringify(st.filmsAt);
  st.root.dataset.filmsAt = at;
  if (st.released != null && st.root.dataset.values === at) {
    record(stats.releaseToFresh, performance.now() - st.released);
    st.released = null;
  }
}

function filmFits(st, index) {
  const at = st.filmsAt;
  if (!at || !st.sprites?.[index]) return false; // filmstrips still on their way
  const still = (input, j) => j === index || Math.abs(Number(input.value) - at[j]) < 1e-6;
  return st.dom.inputs.every(({ input }, j) => still(input, j));
}

/** Draw tile (sx, sy) of each channel's sprite, one frame while the control moves. */
export function showFrame(st, sprites, sx, sy, frame, eventTime) {
  st.dom.canvases.forEach((canvas, c) => {
    paint(canvas, sprites[c], sx, sy);
    canvas.dataset.source = "film";
    canvas.dataset.frame = frame;
  });
  stats.frames += 1;
  record(stats.inputToFrame, performance.now() - eventTime);
}

/** Slider ``index`` at ``value``: its filmstrip's nearest frame, when the filmstrip fits. */
export function filmFrame(st, index, value, eventTime) {
  if (!filmFits(st, index)) return;
  const s = st.data.sliders[index];
  const f = frameIndex(value, s.low, s.high, st.data.k);
  showFrame(st, st.sprites[index], f * 28, 0, String(f), eventTime);
}
