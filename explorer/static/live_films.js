// Carries a live control's filmstrips (explorer/ui/controls.py: live_filmstrips). It is mounted after
// everything else on the page, so the control's exact image reaches the browser first; this
// hands the sprites to the control through a window registry and an event.
export default function ({ data }) {
  const films = JSON.parse(data.json);
  const registry = (window.__leFilms = window.__leFilms || {});
  registry[films.target] = films;
  window.dispatchEvent(new CustomEvent("le-films", { detail: films }));
  return undefined;
}
