"""Streamlit's own floor for a release (run by bench.browser_decode, never by users): a fragment
holding nothing but a range input in a components-v2 component, whose release stores one value
in session state, as the live control's does. Its server CPU per drag is the cost that no page
code can remove: Streamlit's fragment rerun, its messages and the websocket."""

import json
import os

import streamlit as st

from explorer import cpuprobe
from explorer.ui import idle

JS = """
export default function ({ data, parentElement, setStateValue }) {
  // Counts frames where the live control does (static/components/runtime.js: telemetry).
  const stats = (window.__leTelemetry = window.__leTelemetry || { control: { frames: 0 } }).control;
  let root = parentElement.querySelector(".le-root");
  if (!root) {
    root = document.createElement("div");
    root.className = "le-root";
    const input = document.createElement("input");
    Object.assign(input, { type: "range", className: "le-range", min: 0, max: 1, step: 0.01 });
    input.style.width = "600px";
    input.addEventListener("input", () => { stats.frames += 1; });
    input.addEventListener("change", () => setStateValue("values", [Number(input.value)]));
    root.append(input);
    parentElement.append(root);
  }
  root.dataset.values = data.json;
}
"""


@st.cache_resource
def _probe():
    idle.stop_config_polling()  # as the app does (explorer/ui/__init__.py)
    path = os.environ.get(cpuprobe.ENV)
    return cpuprobe.serve(path) if path else None


_probe()
control = st.components.v2.component("latent_explorer_bench.floor", html="", js=JS)


@st.fragment
def empty() -> None:
    values = (st.session_state.get("floor") or {}).get("values") or [0.5]
    control(key="floor", data={"json": json.dumps(values)}, on_values_change=lambda: None)


empty()
