"""Settings that survive: URL state (a link reopens the same view), pickers whose choice
survives page switches, and number inputs clamped to the value used.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import urlstate
from explorer.ui import display, setup


def pick(label_text: str, options: list, key: str, fmt=str):
    """A selectbox whose choice survives page switches: ``keep_<key>`` (not a widget key, so
    Streamlit never drops it; a link may set it) is the truth, copied into the widget each run
    and back from it when the user picks."""
    if not options:
        return None
    store = f"keep_{key}"
    current = st.session_state.get(store)
    st.session_state[key] = current if current in options else options[0]

    def keep() -> None:
        st.session_state[store] = st.session_state[key]

    choice = st.selectbox(label_text, options, key=key, format_func=fmt, on_change=keep)
    st.session_state[store] = choice
    return choice


def digit_fields(
    key: str, default: int = 0, prefix: str = "", index: int = 0
) -> list[urlstate.Field]:
    """URL fields of a :func:`pick_digit` (class and index within the class)."""
    return [
        urlstate.Field(f"{key}_class", f"{prefix}digit", default, urlstate.integer(0, 9)),
        urlstate.Field(f"{key}_index", f"{prefix}index", index, urlstate.integer(0, 10_000)),
    ]


def pick_digit(
    labels: np.ndarray, key: str, title: str = "Held-out digit", default: int = 0
) -> int:
    """Choose a held-out digit by class and index within that class; returns its row. Both
    widgets take their values from session state (a link, or the last visit), never from a
    default argument, so a value set there is not overridden or warned about."""
    c1, c2 = st.columns(2)
    st.session_state.setdefault(f"{key}_class", default)
    digit = c1.selectbox(f"{title}: class", list(range(10)), key=f"{key}_class")
    rows = np.flatnonzero(labels == digit)
    clamp_number_state(f"{key}_index", 0, len(rows) - 1)
    k = c2.number_input("index", 0, len(rows) - 1, key=f"{key}_index")
    return int(rows[int(k)])


def clamp_number_state(key: str, low: float, high: float) -> None:
    """Before a number_input is drawn: clamp the value its key holds into [low, high], so the
    input shows the value actually used (a value sent out of range, or a range that shrank)."""
    value = st.session_state.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        clamped = min(max(value, low), high) if value == value else low
        if clamped != value:
            st.session_state[key] = type(value)(clamped) if isinstance(low, int) else clamped


def keep_settings() -> None:
    """Re-assign every page's settings (the URL fields of the pages this session has visited):
    Streamlit drops a widget's value at the end of a run that does not draw it, so without this
    a page switch would lose them (the usual multipage fix).

    A setting may already be gone by then: a fragment's rerun (a live control's release) drops
    the values of the widgets outside the fragment on the server, and the browser sends them
    back only to the page that drew them. Those come back from the copy that
    :func:`write_url_state` keeps of every setting it writes."""
    copies = st.session_state.get("_kept_values", {})
    for key in st.session_state.get("_kept_keys", ()):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
        elif key in copies:
            st.session_state[key] = copies[key]


def url_state(fields: list[urlstate.Field], page: str) -> bool:
    """Settings from the URL when it carries ones this session did not write (a shared link, or
    an edited address); True when it did. Only the page's own parameters count: ``present``
    and another page's leftovers leave the settings as this session left them. A bad value falls back to its default with a short
    notice. Keys not yet set get their defaults, and every field keeps its value while its
    widget is not on the page (Streamlit drops a widget's state in runs that do not draw it)."""
    own = {field.param for field in fields}
    params = {k: v for k, v in st.query_params.to_dict().items() if k in own}
    written = {k: v for k, v in st.session_state.get(f"_url_{page}", {}).items() if k in own}
    applied = bool(params) and params != written
    if applied:
        values, notices = urlstate.decode(fields, params)
        st.session_state.update(values)
        for notice in notices:
            display.notice(notice)
    for field in fields:
        st.session_state[field.key] = st.session_state.get(field.key, field.default)
    kept = st.session_state.setdefault("_kept_keys", set())
    kept.update(field.key for field in fields)
    return applied


def write_url_state(fields: list[urlstate.Field], page: str) -> None:
    """Write the page's settings to the URL (only those that differ from the defaults)."""
    params = urlstate.encode(fields, st.session_state)
    shown = {**params, "present": "1"} if setup.presenting() else params
    if shown != st.query_params.to_dict():
        st.query_params.from_dict(shown)
    st.session_state[f"_url_{page}"] = params
    copies = st.session_state.setdefault("_kept_values", {})  # see keep_settings
    copies.update({f.key: st.session_state[f.key] for f in fields if f.key in st.session_state})


def open_interpolation(rows: tuple[int, int], origin: str, pair: str | None = None) -> None:
    """Switch to Interpolation between two held-out digits (rows) picked on another page;
    ``origin`` says where they were picked ("the Latent map", "AE vs VAE pair #3") and ``pair``
    which AE/VAE pair to show ("2d", "16d"; None keeps the last one)."""
    from explorer import sitemap

    st.session_state["map_pair"] = [int(rows[0]), int(rows[1])]
    st.session_state["ip_origin"] = origin
    st.session_state["ip_source"] = PICKED_PAIR
    if pair is not None:
        st.session_state["ip_models"] = pair
    st.switch_page(sitemap.INTERPOLATION.script)


# Interpolation's endpoints when they were picked on another page (its "ends=map" in a link).
PICKED_PAIR = "A picked pair"
