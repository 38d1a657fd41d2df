"""Links and page switches in AppTest: every page reads its settings from the URL and writes them
back, a bad parameter falls back with a notice, settings survive a page switch, the lesson's
steps open their pages in the state they describe, and presentation mode enlarges and folds."""

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer import lesson, views
from tests.conftest import ROOT
from tests.pages_helpers import PAGES, _bundled, _component, _id, _images, _page, _run


def _link(page: str, **params) -> AppTest:
    return _run(page, params)


def test_a_sliders_link_reopens_model_start_and_slider_values():
    at = _link(PAGES["sliders"], model="vae2d", start="random", seed="3", z="0.5,-1.25",
               grid="7")  # fmt: skip
    at.toggle(key="sl_live").set_value(False).run()  # standard sliders show their image
    assert at.selectbox(key="sl_model").value == "vae2d"
    assert at.radio(key="sl_source_vae2d").value == "Random sample"
    assert [at.slider(key=f"sl_vae2d_{i}").value for i in (0, 1)] == [0.5, -1.25]
    vae2d = _bundled("vae2d")[0].model
    expected = views.decode(vae2d, torch.tensor([0.5, -1.25]))[0]
    assert _images(at)["decoded from the sliders"] == _id(expected)
    assert at.slider(key="sl_grid").value == 7
    assert at.query_params["z"] == "0.5,-1.25" and at.query_params["model"] == "vae2d"


@pytest.mark.slow
def test_bad_parameters_fall_back_with_a_notice_on_every_page():
    cases = {
        "sliders": {"model": "nope", "z": "1,2,x"},
        "interpolation": {"pair": "3d", "lam": "2", "ends": "map", "rows": "1,99999"},
        "map": {"method": "isomap", "overlay": "prior,bogus"},
        "kl": {"beta": "nan", "digit": "12"},
    }
    for page, params in cases.items():
        at = _link(PAGES[page], **params)
        notices = [w.value for w in at.warning]
        # ends=map is fine on its own; with unusable rows it falls back without its own notice
        assert len(notices) == len(params) - (page == "interpolation"), (page, notices)
        if page == "interpolation":
            assert at.radio(key="ip_source").value == "Two held-out digits"
        assert all("ignored" in n for n in notices)
    assert at.session_state["kl_beta"] == 1.0 and at.session_state["kl_digit_class"] == 0


def test_an_interpolation_link_reopens_endpoints_and_lambda():
    at = _link(PAGES["interpolation"], pair="2d", ends="seeds", seed_a="5", seed_b="9",
               lam="1", mode="spherical", frames="7")  # fmt: skip
    vae2d = _bundled("vae2d")[0].model
    a = vae2d.sample(1, torch.Generator().manual_seed(5))[0]
    assert at.session_state["ip_code_vae2d"] == pytest.approx(a.tolist(), abs=1e-6)
    assert at.radio(key="ip_mode").value == "spherical" and at.slider(key="ip_frames").value == 7
    # Held-out endpoints by class and index, and map rows, too.
    at = _link(PAGES["interpolation"], ends="map", rows="3,400", lam="1")
    ckpt, test = _bundled("vae")
    assert at.session_state["ip_code_vae"] == pytest.approx(
        views.encode(ckpt.model, test.images[3:4])[0].tolist(), abs=1e-5
    )


def test_map_and_kl_links_and_the_url_they_write():
    at = _link(PAGES["map"], method="pca", overlay="prior", perplexity="12")
    assert at.radio(key="map_method").value == "pca"
    assert at.multiselect(key="map_overlay").value == ["prior samples"]
    from tests.test_latent_map_page import map_payload

    marks = [mark["name"] for m in map_payload(at)["maps"] for mark in m["marks"]]
    assert marks == ["prior samples", "prior samples"]  # on the AE's and the VAE's map
    at = _link(PAGES["kl"], digit="3", index="2", beta="4")
    assert any(m.label.startswith("β-weighted loss −E[log p(x|z)] + 4·KL") for m in at.metric)
    at.slider(key="kl_beta").set_value(2.5).run()
    assert at.query_params["beta"] == "2.5" and at.query_params["digit"] == "3"


@pytest.mark.slow
def test_settings_survive_page_switches():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.switch_page(PAGES["sliders"]).run()
    at.selectbox(key="sl_digit_ae_class").set_value(4).run()
    at.number_input(key="sl_digit_ae_index").set_value(2).run()
    at.selectbox(key="sl_dim_ae").set_value(5).run()
    coeffs = list(at.session_state["sl_coeffs_ae"])
    at.switch_page(PAGES["interpolation"]).run()
    at.radio(key="ip_source").set_value("Two seeds").run()
    at.number_input(key="ip_code_seed_a").set_value(11).run()
    at.switch_page(PAGES["map"]).run()
    at.slider(key="map_perplexity").set_value(20).run()
    at.radio(key="map_method").set_value("pca").run()
    at.multiselect(key="map_overlay").set_value(["prior samples"]).run()
    at.switch_page(PAGES["kl"]).run()
    at.selectbox(key="kl_digit_class").set_value(8).run()
    at.switch_page("streamlit_app.py").run()
    at.switch_page(PAGES["sliders"]).run()
    assert not at.exception
    assert at.selectbox(key="sl_digit_ae_class").value == 4
    assert at.number_input(key="sl_digit_ae_index").value == 2
    assert at.selectbox(key="sl_dim_ae").value == 5
    assert at.session_state["sl_coeffs_ae"] == coeffs
    at.switch_page(PAGES["interpolation"]).run()
    assert at.radio(key="ip_source").value == "Two seeds"
    assert at.number_input(key="ip_code_seed_a").value == 11
    at.switch_page(PAGES["map"]).run()
    assert at.radio(key="map_method").value == "pca"
    assert at.multiselect(key="map_overlay").value == ["prior samples"]
    assert at.slider(key="map_perplexity").value == 20
    at.switch_page(PAGES["kl"]).run()
    assert at.selectbox(key="kl_digit_class").value == 8


@pytest.mark.parametrize("index", range(len(lesson.STEPS)))
def test_each_lesson_step_opens_its_page_without_a_notice(index):
    step = lesson.STEPS[index]
    at = _link(step.page.script, **step.params)
    assert not at.warning, [w.value for w in at.warning]
    for key, value in step.params.items():  # the page keeps the step's state in its URL
        assert at.query_params.get(key, value) == value, (key, at.query_params)


def test_a_lesson_button_switches_to_its_page_in_that_state():
    at = _page("pages/5_Lesson.py").run()
    assert not at.exception and len(at.button) == len(lesson.STEPS)
    at.button(key="lesson_0").click().run()
    assert not at.exception
    assert at.session_state["cmp_view"] == "atlas"
    assert at.segmented_control(key="cmp_pair").value == "2d"
    assert lesson.STEPS[1].url() == "/AE_vs_VAE?preset=prior&view=samples&pair=16d"
    assert lesson.STEPS[2].url(present=True) == "/AE_vs_VAE?view=pairs&pair=2d&present=1"


def test_the_beta_step_sets_the_training_panel_beta_too():
    # Step 6 asks to train a VAE with β = 4 in the panel below the slider it sets.
    step = lesson.STEPS[5]
    at = _link(step.page.script, **step.params)
    assert at.session_state["kl_beta"] == 4.0
    assert at.number_input(key="kl_live_beta").value == 4.0
    at.number_input(key="kl_live_beta").set_value(2.5).run()  # then it is the panel's own
    assert at.number_input(key="kl_live_beta").value == 2.5 and at.session_state["kl_beta"] == 4.0


def test_presentation_mode_enlarges_digits_and_folds_formulas():
    at = _link(PAGES["kl"], present="1")
    assert at.session_state["present"] is True and at.toggle(key="present").value
    assert len(at.expander) >= 1 and at.expander[0].label == "The formula, explained"
    test = _bundled("vae")[1]
    row = int(np.flatnonzero(test.labels.numpy() == 0)[0])
    assert _images(at)["digit"] == _id(test.images[row], 10)  # 28 px × 10 = 280 px
    assert at.query_params["present"] == "1"
    # Kept across pages, and switched off by the toggle.
    at.switch_page(PAGES["sliders"]).run()
    assert at.session_state["present"] is True and not at.exception
    at.toggle(key="present").set_value(False).run()
    assert "present" not in at.query_params


def _stroke() -> dict:
    """What draw_canvas.js sends for a vertical stroke (a 1) on its 56x56 grid."""
    import base64

    from explorer import images

    gray = np.zeros((images.DRAW_SIDE, images.DRAW_SIDE), np.uint8)
    gray[8:48, 26:31] = 255
    return {"side": images.DRAW_SIDE, "pixels": base64.b64encode(gray.tobytes()).decode()}


def test_a_drawing_starts_the_sliders_and_is_encoded_by_both_models(monkeypatch):
    from explorer import images
    from explorer.ui import controls

    # the server path: images beside the canvas
    monkeypatch.setattr(controls, "BROWSER_DECODE", False)
    drawing = _stroke()
    at = _page(PAGES["sliders"])
    at.session_state["sl_source_ae"] = "Draw"
    at.session_state["sl_draw_ae"] = {"drawing": drawing}
    at.session_state["sl_live"] = False
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    digit = images.preprocess_digit(images.drawing_pixels(drawing))
    shown = _images(at)
    assert shown["what the models see"] == _id(digit, 4)
    for name in ("ae", "vae"):
        model = _bundled(name)[0].model
        expected = views.reconstruct(model, digit.unsqueeze(0))[0]
        assert shown[f"{'AE' if name == 'ae' else 'VAE'} (d=16) reconstruction"] == _id(expected, 4)
    ae = _bundled("ae")[0].model
    code = views.encode(ae, digit.unsqueeze(0))[0]
    assert at.session_state["sl_coeffs_ae"] == pytest.approx(code.tolist(), abs=0.006)
    # Malformed or cleared drawings are no drawing.
    assert images.drawing_pixels({"side": 56, "pixels": ""}) is None
    assert images.drawing_pixels({"side": 56, "pixels": "!!"}) is None
    assert images.drawing_pixels({"side": 28, "pixels": drawing["pixels"]}) is None


def test_a_drawing_is_endpoint_a_on_interpolation(monkeypatch):
    from explorer import images, latent
    from explorer.ui import controls, interpolation

    # the server path: images beside the canvas
    monkeypatch.setattr(controls, "BROWSER_DECODE", False)
    drawing = _stroke()
    at = _page(PAGES["interpolation"])
    at.session_state["ip_source"] = "A drawing and a digit"
    at.session_state["ip_draw"] = {"drawing": drawing}
    at.session_state["ip_live"] = False
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    digit = images.preprocess_digit(images.drawing_pixels(drawing))
    assert _images(at)["what the models see"] == _id(digit, 4)
    vae, test = _bundled("vae")
    a = views.encode(vae.model, digit.unsqueeze(0))[0]
    index_b = interpolation.default_indices()[1]  # the first 7 the reader reads as a 7
    row_b = int(np.flatnonzero(test.labels.numpy() == 7)[index_b])
    b = views.encode(vae.model, test.images[row_b : row_b + 1])[0]
    lam = at.session_state["ip_lam"]
    assert at.session_state["ip_code_vae"] == pytest.approx(
        latent.lerp(a, b, lam).tolist(), abs=1e-5
    )
    # Before anything is drawn the page asks for a drawing and shows no strips.
    empty = _page(PAGES["interpolation"])
    empty.session_state["ip_source"] = "A drawing and a digit"
    empty.run()
    assert not empty.exception and "ip_code_vae" not in empty.session_state
    assert any("Draw a digit" in c.value for c in empty.caption)


def test_a_drawing_sends_the_canvas_pythons_views_and_the_models_for_the_browser():
    """The browser path: the canvas shows the views itself, live, then Python's (these)."""
    from explorer import images, onnx_export
    from explorer.ui import controls

    for name in ("ae", "vae", "ae2d", "vae2d"):
        onnx_export.export(_bundled(name)[0])  # what the server's background export writes
    digit = images.preprocess_digit(images.drawing_pixels(_stroke()))
    at = _run(PAGES["sliders"], sl_source_ae="Draw", sl_draw_ae={"drawing": _stroke()})
    sent = _component(at, "draw_canvas")
    exact = sent["exact"]
    assert exact["digit"] == images.data_url(images.to_uint8(digit))
    for name, url in zip(("ae", "vae"), exact["recons"], strict=True):
        model = _bundled(name)[0].model
        assert url == images.data_url(images.to_uint8(views.reconstruct(model, digit[None])[0]))
    for name, point, plane in zip(("ae2d", "vae2d"), exact["points"], sent["planes"], strict=True):
        code = views.encode(_bundled(name)[0].model, digit[None])[0]
        assert point == pytest.approx(code.tolist(), abs=1e-6)
        assert len(plane["codes"]) == len(plane["labels"]) == 500
        low, high = plane["window"]
        assert (
            low <= min(min(c) for c in plane["codes"])
            and max(max(c) for c in plane["codes"]) <= high
        )
    assert sent["browser"]["recons"][0]["encoder"] == controls.onnx_urls("ae")["encoder"]
    assert "what the models see" not in _images(at)  # shown by the canvas, not twice
    # Nothing drawn yet: no views, the canvas asks for a digit.
    empty = _run(PAGES["sliders"], sl_source_ae="Draw")
    assert _component(empty, "draw_canvas")["exact"] is None
