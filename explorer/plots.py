"""Plotly figure builders: pure functions from arrays to figures, no Streamlit."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

DIGIT_COLORS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
# The toolbar stands in a column in the right margin: in a row it covered the title on a phone.
_LAYOUT = {
    "margin": {"l": 10, "r": 40, "t": 60, "b": 10},
    "height": 320,
    "modebar": {"orientation": "v"},
}
TITLE_CHARS = 40  # a longer title wraps, so it fits a 390 px phone beside the toolbar


def _title(text: str) -> dict:
    """A chart title, left-aligned and wrapped at TITLE_CHARS characters (plotly never wraps)."""
    import textwrap

    lines = textwrap.wrap(text, TITLE_CHARS) or [""]
    return {"text": "<br>".join(lines), "x": 0.01, "xanchor": "left", "font": {"size": 14}}


def latent_map(
    coords: np.ndarray,
    labels: np.ndarray,
    title: str,
    overlays: dict[str, np.ndarray] | None = None,
) -> go.Figure:
    """Scatter of a 2-D map coloured by digit; each point's customdata is its row index."""
    fig = go.Figure()
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        fig.add_trace(
            go.Scattergl(
                x=coords[rows, 0],
                y=coords[rows, 1],
                mode="markers",
                name=str(digit),
                marker={"color": DIGIT_COLORS[digit], "size": 6, "opacity": 0.8},
                customdata=rows,
                hovertemplate=f"digit {digit} · #%{{customdata}}<extra></extra>",
            )
        )
    for name, points in (overlays or {}).items():
        is_path = name.startswith("path")
        fig.add_trace(
            go.Scatter(
                x=points[:, 0],
                y=points[:, 1],
                name=name,
                mode="lines+markers" if is_path else "markers",
                marker={"color": "black", "size": 9, "symbol": "x" if not is_path else "circle"},
                line={"color": "black", "width": 2},
                hoverinfo="skip",
            )
        )
    # Pan, not lasso, by default: in plotly's lasso and box modes a click selects nothing, and a
    # student's first move is to click a point. The toolbar still offers box and lasso.
    fig.update_layout(
        title=_title(title), dragmode="pan", legend_title_text="digit", **{**_LAYOUT, "height": 460}
    )
    return fig


def selected_rows(selection: dict | None) -> list[int]:
    """Row indices of the points chosen in a plotly selection event, in click order, no repeats.

    Streamlit reports ``{"selection": {"points": [{"customdata": …}, …]}}``; overlay traces carry
    no customdata and are ignored.
    """
    if not selection:
        return []
    points = (selection.get("selection") or {}).get("points") or []
    rows: list[int] = []
    for point in points:
        value = point.get("customdata")
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None and int(value) not in rows:
            rows.append(int(value))
    return rows


def smoothness(
    lams: np.ndarray,
    curves: dict[str, np.ndarray],
    title: str,
    y_title: str,
    y_range: tuple[float, float] | None = None,
) -> go.Figure:
    """Line per curve against λ (between-frame quantities sit at the midpoint of their frames);
    ``y_range`` fixes the y-axis, so charts of two models side by side share one."""
    fig = go.Figure()
    for name, values in curves.items():
        x = lams if len(values) == len(lams) else (lams[1:] + lams[:-1]) / 2
        fig.add_trace(go.Scatter(x=x, y=values, mode="lines+markers", name=name))
    fig.update_layout(title=_title(title), xaxis_title="λ", yaxis_title=y_title, **_LAYOUT)
    fig.update_xaxes(autorange="reversed")  # a (λ = 1) on the left, like the strip
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    return fig


def kl_bars(
    closed_form: np.ndarray, monte_carlo: np.ndarray | None = None, title: str = ""
) -> go.Figure:
    """Per-dimension KL in nats, closed form beside its Monte Carlo estimate."""
    dims = [f"z{i}" for i in range(len(closed_form))]
    fig = go.Figure(go.Bar(x=dims, y=closed_form, name="closed form"))
    if monte_carlo is not None:
        fig.add_trace(go.Bar(x=dims, y=monte_carlo, name="Monte Carlo"))
    fig.update_layout(title=_title(title), barmode="group", yaxis_title="KL (nats)", **_LAYOUT)
    return fig


def curves(history: list[dict], keys: list[str], title: str, x: str = "epoch") -> go.Figure:
    """Training curves of the named metrics from a list of records."""
    fig = go.Figure()
    for key in keys:
        rows = [r for r in history if key in r and x in r]
        if rows:
            fig.add_trace(go.Scatter(x=[r[x] for r in rows], y=[r[key] for r in rows], name=key))
    fig.update_layout(title=_title(title), xaxis_title=x, **_LAYOUT)
    return fig


def kl_heatmap(steps: list[int], kl_rows: list[list[float]], title: str) -> go.Figure:
    """KL per dimension (rows) over training steps (columns)."""
    matrix = np.asarray(kl_rows, dtype=float).T if kl_rows else np.zeros((0, 0))
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=steps,
            y=[f"z{i}" for i in range(len(matrix))],
            colorscale="Viridis",
            colorbar={"title": "nats"},
        )
    )
    fig.update_layout(title=_title(title), xaxis_title="step", **_LAYOUT)
    return fig
