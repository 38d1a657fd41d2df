"""The attribute sliders of Latent sliders in AppTest (issue 25): a link opens them with its edit,
the control decodes the code moved along the model's directions (in the browser: origin +
valuesᵀ·basis), the attributes are measured on the decoded image, leaving them folds the edit
into the latent sliders' code, and the same request goes to the AE, the VAE and the GAN."""

import functools

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer import (
    attribute_views,
    attributes,
    checkpoints,
    data,
    images,
    latent,
    lesson,
    metrics,
    onnx_export,
    views,
)
from explorer.ui import cache, controls, display
from tests import pages_helpers
from tests.conftest import BUNDLED
from tests.pages_helpers import _component, _id, _images

SLIDERS = "pages/1_Latent_sliders.py"


def _run(page: str, params: dict[str, str] | None = None, **state) -> AppTest:
    """Run a page of the app with these URL parameters and session state; nothing raises."""
    return pages_helpers._run(page, params, timeout=300, **state)


@functools.cache
def _bundled(name: str) -> tuple[checkpoints.Checkpoint, data.Digits]:
    ckpt = checkpoints.load(BUNDLED / f"{name}.safetensors")
    return ckpt, data.load_parts(data.Split.from_dict(ckpt.meta["split"]))[2]


LINK = {"model": "vae", "sliders": "attributes", "edit": "thickness:1"}


def _directions(name: str) -> attributes.Directions:
    ckpt = _bundled(name)[0]
    return attributes.load_or_fit(ckpt, cache.CACHE_DIR)


def _edited(at, name: str = "vae") -> tuple[torch.Tensor, torch.Tensor]:
    """(the page's code, that code with the page's edit) for model ``name``."""
    space = latent.slider_space(_bundled(name)[0].model)
    code = space.to_code(torch.tensor(at.session_state[f"sl_coeffs_{name}"]))
    return code, _directions(name).edit(code[None], at.session_state[f"sl_edit_{name}"])[0]


def _readout(at) -> dict[str, list[str]]:
    table = next(m.value for m in at.markdown if m.value.startswith("| attribute | before"))
    rows = [line.strip("| ").split(" | ") for line in table.splitlines()[2:]]
    return {row[0]: row[1:] for row in rows}


def test_a_link_opens_the_attribute_sliders_with_its_edit_measured(monkeypatch):
    monkeypatch.setattr(controls, "BROWSER_DECODE", False)  # the server path: exact images
    at = _run(SLIDERS, LINK)
    assert not at.warning, [w.value for w in at.warning]
    assert at.radio(key="sl_by").value == "Attributes"
    assert at.session_state["sl_edit_vae"] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    sent = _component(at, "live_control")
    found = _directions("vae")
    assert [s["label"] for s in sent["sliders"]] == [attributes.label(n) for n in attributes.NAMES]
    assert sent["sliders"][0]["label"] == "thickness (px)"
    assert sent["sliders"][0]["ends"] == ["thinner", "thicker"]
    assert [s["value"] for s in sent["sliders"]] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert sent["sliders"][0]["high"] == pytest.approx(3 * found.per_unit[0], abs=0.011)
    model = _bundled("vae")[0].model
    code, edited = _edited(at)
    image = views.decode(model, edited)[0]
    assert sent["exact"][0] == images.data_url(images.to_uint8(image))
    # Measured on that image, beside the decode of the unedited code.
    before, after = attributes.measure(torch.stack([views.decode(model, code)[0], image]))
    row = _readout(at)["thickness (px)"]
    j = attributes.NAMES.index("thickness")
    assert row == [f"{before[j]:.2f}", f"{after[j]:.2f}", "+1.00", f"{after[j] - before[j]:+.2f}"]
    assert after[j] > before[j]  # thicker
    assert _images(at)["before the attribute sliders"] == _id(views.decode(model, code)[0], 4)
    assert any(c.value.startswith("Reader A: CNN reads ") for c in at.caption)
    assert at.query_params["edit"] == "thickness:1" and at.query_params["sliders"] == "attributes"


def test_the_browser_decodes_the_code_plus_values_along_the_directions():
    onnx_export.export(_bundled("vae")[0])  # what the server's background export writes
    at = _run(SLIDERS, LINK)
    spec = _component(at, "live_control")["browser"]["channels"][0]
    code, edited = _edited(at)
    found = _directions("vae")
    assert spec["origin"] == pytest.approx(code.tolist(), abs=1e-6)
    assert np.array(spec["basis"]) == pytest.approx(found.per_attribute(), abs=1e-6)
    values = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # runtime.js's codeFor
    assert np.array(spec["origin"]) + values @ np.array(spec["basis"]) == pytest.approx(
        edited.numpy(), abs=1e-5
    )


def test_leaving_the_attribute_sliders_folds_the_edit_into_the_code(monkeypatch):
    monkeypatch.setattr(controls, "BROWSER_DECODE", False)
    at = _run(SLIDERS, LINK)
    _, edited = _edited(at)
    at.radio(key="sl_by").set_value("Latent coordinates").run()
    assert not at.exception
    assert at.session_state["sl_coeffs_vae"] == pytest.approx(edited.tolist(), abs=0.006)
    assert at.session_state["sl_edit_vae"] == [0.0] * 6 and "edit" not in at.query_params
    assert "sliders" not in at.query_params and _component(at, "live_control")["sliders"][0][
        "label"
    ] == ("z0")
    # Back to the attribute sliders: they start from the folded code, at 0; Reset clears an edit.
    at.radio(key="sl_by").set_value("Attributes").run()
    at.session_state["sl_edit_vae"] = [0.0, 5.0, 0.0, 0.0, 0.0, 0.0]
    at.run()
    assert _readout(at)["slant (°)"][2] == "+5.0"
    at.button(key="sl_reset").click().run()
    assert at.session_state["sl_edit_vae"] == [0.0] * 6


def test_standard_attribute_sliders_and_a_bad_edit(monkeypatch):
    monkeypatch.setattr(controls, "BROWSER_DECODE", False)
    at = _run(SLIDERS, {**LINK, "edit": "boldness:3"}, sl_live=False)
    assert [w.value.replace("\\", "") for w in at.warning] == [
        f"edit={display.literal('boldness:3')} ignored (boldness:3 is not name:number with a name of thickness, "
        "slant, width, height, area, length); using the default."
    ]
    at.slider(key="sl_attr_vae_2").set_value(2.0).run()  # wider
    assert at.session_state["sl_edit_vae"] == [0.0, 0.0, 2.0, 0.0, 0.0, 0.0]
    _, edited = _edited(at)
    image = views.decode(_bundled("vae")[0].model, edited)[0]
    assert _images(at)["edited"] == _id(image, images.DISPLAY_SCALE)
    assert at.query_params["edit"] == "width:2"


def test_the_same_request_goes_to_the_ae_the_vae_and_the_gan():
    at = _run(SLIDERS, {**LINK, "digit": "3", "ask": "slant:20"})
    captions = [c for c in _images(at) if " SDs of its codes" in c]
    assert [c.split(":")[0] for c in captions] == ["AE (d=16)", "VAE (d=16)", "DCGAN (z=100)"]
    assert all(c.split(":")[1].startswith(" slant ") for c in captions)
    # The GAN's version of the held-out 3: a sample Reader A reads as Reader A reads the 3.
    test = _bundled("vae")[1]
    digit = test.images[int(np.flatnonzero(test.labels.numpy() == 3)[0])]
    read = int(metrics.classifier_confidence(_bundled("classifier")[0].model, digit[None])[0][0])
    assert f"; reads {read} → " in captions[2] and read == 3
    assert at.number_input(key="sl_ask_amount").value == 20.0
    at.selectbox(key="sl_ask_name").set_value("width").run()  # a new attribute: its usual ask
    assert at.session_state["sl_ask"] == ("width", attribute_views.DEFAULT_ASK["width"])
    assert at.query_params["ask"] == "width:4"


def test_the_lesson_step_opens_the_sliders_its_numbers_describe():
    step = lesson.STEPS[-1]
    results = attributes.read_results()
    vae = results["models"]["vae"]["attributes"]["thickness"]
    assert f"held-out R² {vae['r2']['value']:.2f}" in step.text
    assert step.params["edit"] == f"thickness:{lesson.thickness_request(results):.4g}"
    at = _run(step.page.script, step.params)
    assert at.session_state["sl_edit_vae"][0] == lesson.thickness_request(results)
    assert at.session_state["sl_digit_vae_class"] == lesson.ATTRIBUTE_DIGIT
    # The page's table shows the same measured figures (the results are for these checkpoints).
    table = next(m.value for m in at.markdown if m.value.startswith("| attribute | held-out"))
    row = next(line for line in table.splitlines() if line.startswith("| thickness"))
    assert f"| {vae['slope']['value']:.2f} [" in row
    assert "Which model wins" in " ".join(m.value for m in at.markdown)
    # Asked for more thickness, the digit the page shows is thicker.
    got = _readout(at)["thickness (px)"][3]
    assert float(got) > 0


def test_the_gans_attribute_sliders_move_its_full_code_and_say_where_they_come_from():
    at = _run(SLIDERS, {"model": "gan", "sliders": "attributes", "edit": "slant:10"})
    assert not at.warning and at.session_state["sl_edit_gan"][1] == 10.0
    captions = " ".join(c.value for c in at.caption)
    assert "of its own samples (no encoder)" in captions  # the directions' source
    assert any("The GAN has no encoder" in c for c in captions.split("  "))
    # Leaving them: the GAN's sliders are its 8 principal directions, so the edit is projected.
    _, edited = _edited(at, "gan")
    at.radio(key="sl_by").set_value("Latent coordinates").run()
    space = latent.slider_space(_bundled("gan")[0].model)
    assert at.session_state["sl_coeffs_gan"] == pytest.approx(
        space.from_code(edited).tolist(), abs=0.006
    )
