"""AE vs VAE in Streamlit's AppTest: the atlas decodes the chosen point with both models (as
images on the server path, and for the browser's probe with the models it decodes with), its
window is one scale or each model's own; the pair presets open the pair their rule names, a link
opens them and a bad or stale one falls back; the samples decode the same prior codes for both;
and a custom pair study waits in the server's queue and then shows.
"""

import functools
import time

import pytest
import torch
from streamlit.runtime.memory_media_file_storage import _calculate_file_id

from explorer import compare, findings, images, precompute, smoothness, views
from explorer.ui import cache, controls, studies
from tests.conftest import BUNDLED
from tests.pages_helpers import PAGES, _bundled, _component, _id, _images, _page, _run


def _decoded_at(name: str, x: float, y: float) -> torch.Tensor:
    return views.decode(_bundled(name)[0].model, torch.tensor([[x, y]]))[0]


def test_ae_vs_vae_atlas_decodes_the_chosen_point_with_both_models(monkeypatch):
    monkeypatch.setattr(controls, "BROWSER_DECODE", False)  # the server path: images
    at = _run(PAGES["compare"], {"view": "atlas"})
    charts = at.get("plotly_chart")
    assert len(charts) == 2 and all('"layout"' in c.proto.spec for c in charts)
    shown = _images(at)
    assert shown["AE (d=2) at (0.00, 0.00): reads " + _reads("ae2d", 0, 0)] == _id(
        _decoded_at("ae2d", 0, 0), 4
    )
    at.number_input(key="cmp_x").set_value(-4.5).run()
    assert at.session_state["cmp_point"] == [-4.5, 0.0]
    for name in ("ae2d", "vae2d"):
        caption = f"{cache.label(name)} at (-4.50, 0.00): reads {_reads(name, -4.5, 0)}"
        assert _images(at)[caption] == _id(_decoded_at(name, -4.5, 0), 4)
    assert at.query_params["z"] == "-4.5,0"  # the link now reopens this point


def test_ae_vs_vae_probe_gets_pythons_decode_and_the_models_for_the_browser():
    from explorer import onnx_export

    for name in ("ae2d", "vae2d", "classifier"):
        onnx_export.export(_bundled(name)[0])  # what the server's background export writes
    at = _run(PAGES["compare"], {"view": "atlas", "z": "-4.5,1"})
    probe = _component(at, "atlas_probe")
    assert probe["charts"] == ["cmp_atlas_ae2d", "cmp_atlas_vae2d"] and probe["point"] == [-4.5, 1]
    for c, name in enumerate(("ae2d", "vae2d")):
        image = _decoded_at(name, -4.5, 1)
        assert probe["exact"][c] == images.data_url(images.to_uint8(image))
        assert (
            probe["captions"][c]
            == f"{cache.label(name)} at (-4.50, 1.00): reads {_reads(name, -4.5, 1)}"
        )
        assert probe["browser"]["decoders"][c] == controls.onnx_urls(name)["decoder"]
    assert not _images(at)  # the probe shows the decodes; no image elements beside it
    # A browser that reported the runtime cannot load gets no models, only Python's decodes.
    at.session_state["cmp_probe"] = {"runtime": "failed"}
    at.run()
    assert _component(at, "atlas_probe")["browser"] is None


def _reads(name: str, x: float, y: float) -> str:
    clf = _bundled("classifier")[0].model
    probs = compare.probabilities(clf, _decoded_at(name, x, y).unsqueeze(0))[0]
    return f"{int(probs.argmax())} ({float(probs.max()):.2f})"


@functools.cache
def _study(name: str) -> dict:
    """What the page's default pair study holds for a bundled model."""
    ckpt, test = _bundled(name)
    found = precompute.readers(BUNDLED)
    return precompute.paths(ckpt, found, views.encode(ckpt.model, test.images).numpy(), 200, 0)


def _gap(ae: dict, vae: dict, reader: str = "classifier"):
    return vae[f"{reader}:top"][:, 1:-1].min(1) - ae[f"{reader}:top"][:, 1:-1].min(1)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["hole", "typical", "ae_wins"])
def test_ae_vs_vae_pair_presets_open_the_pair_their_rule_names(preset):
    at = _run(PAGES["compare"])
    at.button(key=f"cmp_p_{preset}").click().run()
    assert not at.exception
    ae, vae = _study("ae2d"), _study("vae2d")
    chosen = compare.presets(_gap(ae, vae))
    assert at.session_state["cmp_view"] == "pairs"
    assert at.session_state["cmp_selected"] == chosen[preset].index
    note = at.info[0].value
    assert f"below the VAE in {findings.percent(chosen['hole'].share)}" in note
    assert f"below the AE in {findings.percent(chosen['ae_wins'].share)}" in note
    frames = views.decode(
        _bundled("ae2d")[0].model, torch.from_numpy(ae["codes"][chosen[preset].index])
    )
    strip = images.png_bytes(images.grid(frames, ncol=len(frames)), 3)
    assert _calculate_file_id(strip, "image/png") in _images(at).values()
    # The three distributions and the sortable table of every pair.
    assert len(at.get("plotly_chart")) == 3 and len(at.dataframe) == 1
    # A preset belongs to its pair: switching the pair drops it and its chosen pair.
    at.segmented_control(key="cmp_pair").set_value("16d").run()
    assert not at.exception
    assert at.session_state["cmp_preset"] is None and at.session_state["cmp_selected"] is None
    assert "preset" not in at.query_params and "selected" not in at.query_params


@pytest.mark.slow
def test_ae_vs_vae_opens_from_a_link_and_survives_a_bad_one():
    at = _page(PAGES["compare"])
    at.query_params["preset"] = "hole"
    at.query_params["pair"] = "16d"
    at.run()
    assert not at.exception
    chosen = compare.presets(_gap(_study("ae"), _study("vae")))["hole"]
    assert at.session_state["cmp_view"] == "pairs"
    assert at.session_state["cmp_selected"] == chosen.index
    bad = _page(PAGES["compare"])
    bad.query_params["view"] = "holes"
    bad.query_params["pairs"] = "1e9"
    bad.run()
    assert not bad.exception and len(bad.warning) >= 2
    assert bad.session_state["cmp_view"] == "findings" and bad.session_state["cmp_n_pairs"] == 200
    # A stale link: pair #150 of a list now only 40 long is no pair at all, not an IndexError.
    for view in ("atlas", "pairs"):
        stale = _page(PAGES["compare"])
        stale.query_params.update({"view": view, "selected": "150", "pairs": "40"})
        stale.run()
        assert not stale.exception and not any("Pair #" in m.value for m in stale.markdown)


@pytest.mark.slow
def test_ae_vs_vae_samples_decode_the_same_prior_codes_for_both():
    at = _run(PAGES["compare"], cmp_view="samples")
    reader = _bundled("classifier")[0].model
    captions = [c.value for c in at.caption if c.value.startswith("Read as a digit")]
    for name, caption in zip(("ae2d", "vae2d"), captions[:2], strict=True):
        model = _bundled(name)[0].model
        images_ = compare.decode_all(model, compare.prior_codes(1000, 2, 0))
        read = compare.probabilities(reader, images_).max(1).values >= smoothness.CONFIDENT
        expected = findings.share(smoothness.bootstrap(read.numpy().astype(float)).to_dict())
        assert f"Reader A (CNN): **{expected}**" in caption
    assert any("percentage points" in m.value for m in at.markdown)


@pytest.mark.slow
def test_a_custom_study_waits_in_the_server_queue_and_then_shows(monkeypatch, tmp_path):
    monkeypatch.setattr(cache, "CACHE_DIR", tmp_path)  # nothing measured before
    studies.results.clear()
    studies.queue.clear()
    studies._read.clear()
    at = _page(PAGES["compare"])
    at.query_params.update({"view": "pairs", "pairs": "40", "pair_seed": "7"})
    at.run()
    assert not at.exception and not at.dataframe
    assert any("queue" in i.value or "Measuring your custom" in i.value for i in at.info)
    found = precompute.readers(BUNDLED)
    names = [precompute.paths_name(_bundled(n)[0], found, 40, 7) for n in ("ae2d", "vae2d")]
    deadline = time.time() + 600
    while any(studies.results().get(n) is None for n in names) and time.time() < deadline:
        time.sleep(0.5)
    at.run()
    assert not at.exception and len(at.dataframe) == 1
    assert len(at.dataframe[0].value) == 40


def test_ae_vs_vae_atlas_window_one_scale_or_each_models_own():
    import json

    def x_ranges(window: str) -> list[list[float]]:
        at = _run(PAGES["compare"], {"view": "atlas", "window": window})
        layouts = [json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")]
        captions = " ".join(c.value for c in at.caption)
        assert ("its own window" in captions) == (window == "own")
        return [layout["xaxis"]["range"] for layout in layouts]

    own, shared = x_ranges("own"), x_ranges("codes")
    assert len(own) == 2 and own[0] != own[1]  # the d = 2 AE's codes spread wider
    # The atlas opens where sampling lands: each model's own codes, with N(0, I)'s 2σ and 3σ
    # circles on both planes and the AE's fitted Gaussian (2σ) on its own.
    at = _run(PAGES["compare"], {"view": "atlas"})
    assert at.session_state["cmp_window"] == "own"
    ae = _bundled("ae2d")[0].model
    shapes = [json.loads(c.proto.spec)["layout"]["shapes"] for c in at.get("plotly_chart")]
    for found in shapes:
        circles = [(s["x0"], s["x1"]) for s in found if s["type"] == "circle"]
        assert (-2.0, 2.0) in circles and (-3.0, 3.0) in circles
    mean, std = float(ae.code_mean[0]), float(ae.code_std[0])
    fitted = [s for s in shapes[0] if s["type"] == "circle" and s["label"]["text"] == "fitted 2σ"]
    assert fitted and fitted[0]["x0"] == pytest.approx(mean - 2 * std, rel=1e-5)
    assert not [s for s in shapes[1] if s.get("label", {}).get("text") == "fitted 2σ"]
    assert shared[0] == shared[1] == max(own, key=lambda r: r[1] - r[0])
    assert x_ranges("prior") == [[-3.0, 3.0], [-3.0, 3.0]]
