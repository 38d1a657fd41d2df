"""Plotly figure builders: pure functions from arrays to figures, no Streamlit."""

from __future__ import annotations

from dataclasses import dataclass

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
# Text at 14 px (ticks, legends; titles larger): plotly's 12 px ticks were too small to read on a
# projector.
FONT_SIZE = 14
_LAYOUT = {
    "font": {"size": FONT_SIZE},
    "margin": {"l": 10, "r": 40, "t": 60, "b": 10},
    "height": 320,
    "modebar": {"orientation": "v"},
    # Below the axes, in rows: at the right (plotly's default) the toolbar, which a phone always
    # shows, covered a legend's entries.
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.42, "xanchor": "left", "x": 0},
}
TITLE_CHARS = 40  # a longer title wraps, so it fits a 390 px phone beside the toolbar


def _title(text: str) -> dict:
    """A chart title, left-aligned and wrapped at TITLE_CHARS characters (plotly never wraps)."""
    import textwrap

    lines = textwrap.wrap(text, TITLE_CHARS) or [""]
    return {"text": "<br>".join(lines), "x": 0.01, "xanchor": "left", "font": {"size": 16}}


def _legible(fig: go.Figure) -> go.Figure:
    """Ticks, legends and colour bars at FONT_SIZE and axis titles 2 px larger: Streamlit's
    chart theme sets them explicitly (12 px), so the layout's font alone does not reach them."""
    fig.update_xaxes(tickfont_size=FONT_SIZE, title_font_size=FONT_SIZE + 2)
    fig.update_yaxes(tickfont_size=FONT_SIZE, title_font_size=FONT_SIZE + 2)
    fig.update_layout(legend_font_size=FONT_SIZE)
    fig.update_traces(colorbar_tickfont_size=FONT_SIZE, selector={"type": "heatmap"})
    return fig


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
    return _legible(fig)


def kl_bars(
    closed_form: np.ndarray, monte_carlo: np.ndarray | None = None, title: str = ""
) -> go.Figure:
    """Per-dimension KL in nats, closed form beside its Monte Carlo estimate."""
    dims = [f"z{i}" for i in range(len(closed_form))]
    fig = go.Figure(go.Bar(x=dims, y=closed_form, name="closed form"))
    if monte_carlo is not None:
        fig.add_trace(go.Bar(x=dims, y=monte_carlo, name="Monte Carlo"))
    fig.update_layout(title=_title(title), barmode="group", yaxis_title="KL (nats)", **_LAYOUT)
    return _legible(fig)


def curves(
    history: list[dict],
    keys: list[str],
    title: str,
    x: str = "epoch",
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """Training curves of the named metrics from a list of records; ``colors`` fixes a key's
    colour (charts side by side then keep one colour per term)."""
    fig = go.Figure()
    for key in keys:
        rows = [r for r in history if key in r and x in r]
        if rows:
            line = {"color": colors[key]} if colors and key in colors else None
            fig.add_trace(
                go.Scatter(x=[r[x] for r in rows], y=[r[key] for r in rows], name=key, line=line)
            )
    fig.update_layout(title=_title(title), xaxis_title=x, **_LAYOUT)
    return _legible(fig)


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
    return _legible(fig)


@dataclass(frozen=True)
class Shading:
    """What is shaded over an atlas: per cell of a grid (m, m), top row first, a category (0:
    nothing, 1: a little, 2: a lot) with one colour each, and the words a pointer shows."""

    category: np.ndarray
    text: np.ndarray
    colors: tuple[str, str, str] = ("rgba(0,0,0,0)", "rgba(255,176,0,0.45)", "rgba(220,0,0,0.55)")


@dataclass(frozen=True)
class Ring:
    """An ellipse drawn on an atlas: centre (x, y), half-axes (x, y), its label and dash."""

    centre: tuple[float, float]
    radius: tuple[float, float]
    label: str
    dash: str = "dash"


def reader_shading(top: np.ndarray, second: np.ndarray, labels: np.ndarray) -> Shading:
    """A reader's view of the plane: nothing where it reads a digit (top probability ≥ 0.9),
    amber where it reads a blend of two (the top two reach 0.9 together), red where it reads
    garbage (neither)."""
    confident = top >= 0.9
    blend = ~confident & (top + second >= 0.9)
    category = np.where(confident, 0, np.where(blend, 1, 2))
    text = np.where(
        confident,
        np.char.add(np.char.add("reads ", labels.astype(str)), " (confident)"),
        np.where(blend, "a blend of two digits", "garbage: no digit"),
    )
    return Shading(category, text)


def coverage_shading(distance: np.ndarray, far_radius: float) -> Shading:
    """Where sampling would land far from every training code (red), in units of the codes'
    spacing: the points beyond the radius that 99 % of the codes' own nearest neighbours lie
    within (explorer.coverage)."""
    far = distance > far_radius
    text = np.char.add(
        np.char.add("nearest training code: ", np.char.mod("%.1f", distance)),
        " spacings" + (f" (far beyond {far_radius:.1f})"),
    )
    return Shading(np.where(far, 2, 0), text)


def atlas(
    tiles_png: str,
    window: tuple[float, float],
    shading: Shading,
    codes: np.ndarray,
    labels: np.ndarray,
    title: str,
    paths: dict[str, np.ndarray] | None = None,
    point: tuple[float, float] | None = None,
    rings: tuple[Ring, ...] = (),
    clickable: int = 41,
) -> go.Figure:
    """A 2-D latent plane: decoded digits as the background (a PNG data URL covering ``window``),
    the shading over it (a reader's blends and garbage, or where sampling lands far from every
    code), codes coloured by digit, rings (N(0, I)'s 2σ and 3σ circles, an AE's fitted Gaussian),
    and an invisible grid of points so that a click anywhere selects a point of the plane."""
    low, high = window
    fig = go.Figure()
    axis = np.linspace(low, high, len(shading.category))
    scale = [[0.0, shading.colors[0]], [0.33, shading.colors[0]], [0.34, shading.colors[1]],
             [0.66, shading.colors[1]], [0.67, shading.colors[2]], [1.0, shading.colors[2]]]  # fmt: skip
    fig.add_trace(
        go.Heatmap(
            x=axis,
            y=axis[::-1],
            z=shading.category,
            zmin=0,
            zmax=2,
            colorscale=scale,
            showscale=False,
            text=shading.text,
            hovertemplate="%{text}<extra></extra>",
        )
    )
    grid = np.linspace(low, high, clickable)
    gx, gy = np.meshgrid(grid, grid)
    fig.add_trace(
        go.Scatter(
            x=gx.ravel(),
            y=gy.ravel(),
            mode="markers",
            name="click",
            showlegend=False,
            marker={"size": 12, "opacity": 0},
            hovertemplate="z = (%{x:.2f}, %{y:.2f})<extra></extra>",
        )
    )
    for digit in range(10):
        rows = labels == digit
        fig.add_trace(
            go.Scatter(
                x=codes[rows, 0],
                y=codes[rows, 1],
                mode="markers",
                name=str(digit),
                marker={
                    "color": DIGIT_COLORS[digit],
                    "size": 5,
                    "line": {"width": 0.5, "color": "white"},
                },
                hovertemplate=f"digit {digit}<extra></extra>",
            )
        )
    for name, path in (paths or {}).items():
        fig.add_trace(
            go.Scatter(
                x=path[:, 0],
                y=path[:, 1],
                mode="lines+markers",
                name=name,
                line={"color": "yellow", "width": 3},
                marker={"size": 6, "color": "yellow"},
                hoverinfo="skip",
            )
        )
    if point is not None:
        fig.add_trace(
            go.Scatter(
                x=[point[0]],
                y=[point[1]],
                mode="markers",
                name="clicked",
                hoverinfo="skip",
                marker={
                    "symbol": "x",
                    "size": 16,
                    "color": "white",
                    "line": {"width": 2, "color": "black"},
                },
            )
        )
    for ring in rings:
        (cx, cy), (rx, ry) = ring.centre, ring.radius
        fig.add_shape(
            type="circle",
            x0=cx - rx,
            y0=cy - ry,
            x1=cx + rx,
            y1=cy + ry,
            line={"color": "white", "dash": ring.dash, "width": 1.5},
            label={
                "text": ring.label,
                "textposition": "top center",
                "font": {"color": "white", "size": FONT_SIZE},
            },
        )
    fig.add_layout_image(
        source=tiles_png,
        xref="x",
        yref="y",
        x=low,
        y=high,
        sizex=high - low,
        sizey=high - low,
        sizing="stretch",
        layer="below",
    )
    fig.update_xaxes(range=[low, high], title="z0", showgrid=False, zeroline=False)
    fig.update_yaxes(
        range=[low, high], title="z1", showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1
    )
    # The right margin holds the toolbar: with 10 px it covered the plane on a phone.
    layout = {**_LAYOUT, "height": 440, "margin": {"l": 10, "r": 40, "t": 40, "b": 10}}
    fig.update_layout(
        title=title,
        clickmode="event+select",
        dragmode="pan",
        showlegend=False,
        plot_bgcolor="black",
        **layout,
    )
    return _legible(fig)


def digit_key() -> str:
    """One line of HTML naming the digit colours (a legend that costs one line, not a column)."""
    chips = "".join(
        f'<span style="color:{color};font-size:1.2em">●</span>&nbsp;{digit}&emsp;'
        for digit, color in enumerate(DIGIT_COLORS)
    )
    return f"<div style='font-size:0.9em'>digit:&emsp;{chips}</div>"


def distributions(values: dict[str, np.ndarray], title: str, y_title: str) -> go.Figure:
    """Box plots with every point, one per model, of one measure on one y-axis, so the models
    compare at a glance."""
    fig = go.Figure()
    for model, array in values.items():
        fig.add_trace(
            go.Box(
                y=array,
                name=model,
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker={"size": 3, "opacity": 0.5},
                boxmean=True,
            )
        )
    fig.update_layout(title=title, yaxis_title=y_title, showlegend=False, **_LAYOUT)
    return _legible(fig)


def digit_shares(shares: np.ndarray) -> go.Figure:
    """A small bar chart: the share of samples read as each digit."""
    fig = go.Figure(go.Bar(x=[str(d) for d in range(10)], y=shares, marker_color=DIGIT_COLORS))
    fig.update_layout(
        title="digits produced",
        yaxis={"tickformat": ".0%"},
        **{**_LAYOUT, "height": 200, "margin": {"l": 10, "r": 10, "t": 30, "b": 10}},
    )
    return _legible(fig)
