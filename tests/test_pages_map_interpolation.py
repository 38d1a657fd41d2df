"""Interpolation and the Latent map in Streamlit's AppTest: at λ = 1 and 0 Interpolation shows
exactly digits a and b, a pair picked on the Latent map or two seeds give the path's ends, a is on
the left of every slider, strip and chart, and live dragging shows w* once; the Latent map
switches its projection method.
"""

import numpy as np
import pytest
import torch

from explorer import latent, views
from explorer.ui import interpolation, state
from tests.pages_helpers import PAGES, _bundled, _id, _images, _run


@pytest.mark.parametrize("lam,endpoint", [(1.0, "a"), (0.0, "b")])
def test_interpolation_at_the_ends_shows_exactly_a_or_b(lam, endpoint):
    at = _run(PAGES["interpolation"], ip_live=False)
    at.select_slider(key="ip_lambda").set_value(lam).run()
    shown = [v for k, v in _images(at).items() if ": w* at" in k]
    expected = []
    for name in ("ae", "vae"):
        ckpt, test = _bundled(name)
        digit = 1 if endpoint == "a" else 7
        index = interpolation.default_indices()[0 if endpoint == "a" else 1]
        row = int(np.flatnonzero(test.labels.numpy() == digit)[index])
        code = views.encode(ckpt.model, test.images[row : row + 1])[0]
        expected.append(_id(views.decode(ckpt.model, code)[0]))
    assert shown == expected


def test_interpolation_uses_the_map_selection():
    at = _run(PAGES["interpolation"], map_pair=[3, 400], ip_source=state.PICKED_PAIR,
              ip_origin="the Latent map", ip_live=False)  # fmt: skip
    assert any(
        "Picked on the Latent map: held-out #3 (a) and #400 (b)" in c.value for c in at.caption
    )
    ckpt, test = _bundled("vae")
    a = views.encode(ckpt.model, test.images[3:4])[0]
    b = views.encode(ckpt.model, test.images[400:401])[0]
    assert at.session_state["ip_code_vae"] == pytest.approx(
        latent.lerp(a, b, 0.5).tolist(), abs=1e-5
    )


def test_latent_map_switches_method():
    from tests.test_latent_map_page import map_payload

    at = _run(PAGES["map"], map_method="pca")
    maps = map_payload(at)["maps"]
    assert [m["name"] for m in maps] == ["ae", "vae"] and "PCA" in maps[0]["title"]
    at.radio(key="map_method").set_value("tsne").run()
    assert not at.exception and map_payload(at)["maps"][0]["coords"] != maps[0]["coords"]


def test_interpolation_between_two_seeds_uses_each_prior():
    at = _run(PAGES["interpolation"], ip_live=False, ip_source="Two seeds")
    at.select_slider(key="ip_lambda").set_value(1.0).run()
    ckpt, _ = _bundled("vae")
    a = ckpt.model.sample(1, torch.Generator().manual_seed(1))[0]
    assert at.session_state["ip_code_vae"] == pytest.approx(a.tolist(), abs=1e-6)


def test_interpolation_reads_a_to_b_left_to_right_everywhere():
    import json

    at = _run(PAGES["interpolation"], ip_live=False)
    lam = at.select_slider(key="ip_lambda")
    assert lam.options[0] == "1.00" and lam.options[-1] == "0.00"  # a on the left, as the strips
    charts = {c.key: json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")}
    assert all(layout["xaxis"]["autorange"] == "reversed" for layout in charts.values())
    # AE and VAE side by side on the same y-axis, so the heights compare.
    assert charts["ip_s_ae"]["yaxis"]["range"] == charts["ip_s_vae"]["yaxis"]["range"]
    assert charts["ip_c_ae"]["yaxis"]["range"] == charts["ip_c_vae"]["yaxis"]["range"] == [0, 1.02]
    assert {"ip_png_gan", "ip_gif_gan"} <= {b.key for b in at.get("download_button")}
    assert not [c.value for c in at.caption if "[" in c.value]  # no printed arrays


def test_live_interpolation_shows_w_star_once():
    at = _run(PAGES["interpolation"])  # the live control's canvases show w*
    assert not [k for k in _images(at) if ": w* at" in k]
