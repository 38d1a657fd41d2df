// Carries a live control's filmstrips (explorer/ui/controls.py: live_filmstrips). It is mounted
// after everything else on the page, so the control's exact image reaches the browser first; it
// posts the sprites to the control (message "films", runtime.js), which keeps the last one.
import { post } from "./runtime.js";

export default function ({ data }) {
  const films = JSON.parse(data.json); // {target, frames, filmsAt}
  post("films", films.target, films);
}
