"""Every page in Streamlit's AppTest: it loads, and an interaction changes what is shown.

Streamlit names each media file by a hash of its bytes, so comparing an image element's URL with
the id of the PNG we expect checks the exact pixels the page shows.
"""

import dataclasses
import functools
import time

import numpy as np
import pytest
import torch
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from explorer import (
    checkpoints,
    compare,
    data,
    findings,
    images,
    latent,
    precompute,
    smoothness,
    views,
)
from explorer.ui import cache, controls, display, interpolation, state, studies, training
from tests.conftest import BUNDLED, ROOT

PAGES = {
    "compare": "pages/0_AE_vs_VAE.py",
    "sliders": "pages/1_Latent_sliders.py",
    "interpolation": "pages/2_Interpolation.py",
    "map": "pages/3_Latent_map.py",
    "kl": "pages/4_KL_and_ELBO.py",
}


def _page(page: str, timeout: float = 180) -> AppTest:
    """AppTest of one page of the multipage app (entrypoint first, then switch_page)."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    at.switch_page(page)
    return at


def _run(page: str, params: dict[str, str] | None = None, **state) -> AppTest:
    """Run a page with these URL parameters and session state; it must raise nothing."""
    at = _page(page)
    at.query_params.update(params or {})
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _images(at: AppTest) -> dict[str, str]:
    """Caption -> media id of every image on the page."""
    found: dict[str, str] = {}

    def walk(node):
        if type(node).__name__ == "Image":
            for url, caption in zip(node.value, node.captions, strict=True):
                found[caption] = url.rsplit("/", 1)[-1].split(".")[0]
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def _id(image: torch.Tensor, scale: int = images.DISPLAY_SCALE) -> str:
    return _calculate_file_id(images.digit_png(image, scale), "image/png")


def _sliders(at: AppTest, name: str) -> list:
    """The page's sliders for a model, in dimension order (the tree lists them by column)."""
    found = [s for s in at.slider if s.key.startswith(f"sl_{name}_")]
    return sorted(found, key=lambda s: int(s.key.rsplit("_", 1)[1]))


def _bundled(name: str):
    ckpt = checkpoints.load(BUNDLED / f"{name}.safetensors")
    _, test = data.load_split(data.Split(**ckpt.meta["split"]))
    return ckpt, test


def test_home_page():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
    assert not at.exception
    titles = [s.value for s in at.subheader]
    assert titles == [cache.label(n) for n in checkpoints.discover(BUNDLED)]
    before = _images(at)
    at.number_input(key="home_seed").set_value(5).run()
    after = _images(at)
    assert before["64 random samples"] != after["64 random samples"]
    vae = checkpoints.load(BUNDLED / "vae.safetensors").model
    expected = images.grid(views.decode(vae, vae.sample(64, torch.Generator().manual_seed(5))), 8)
    assert cache.sample_grid("vae", "any", 5) == images.png_bytes(expected, scale=2)


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


def test_kl_page_metrics_follow_the_formulas():
    at = _run(PAGES["kl"])
    values = {m.label: float(m.value.split()[0]) for m in at.metric}
    recon = values["reconstruction E[log p(x|z)], nats"]
    kl = values["KL total, nats"]
    assert values["ELBO, nats"] == pytest.approx(recon - kl, abs=0.15)
    at.slider(key="kl_beta").set_value(3.0).run()
    beta3 = {m.label: float(m.value.split()[0]) for m in at.metric}
    key = "β-weighted loss −E[log p(x|z)] + 3·KL, nats"
    assert beta3[key] == pytest.approx(-recon + 3 * kl, abs=0.3)
    # Burda et al.'s criterion on the 500 held-out digits: a unit is active when the variance of
    # its posterior mean exceeds 0.01 (for the bundled VAE, all 16 are).
    ckpt, test = _bundled("vae")
    variance = views.encode(ckpt.model, test.images).var(0)
    inactive = [f"z{j}" for j in range(16) if variance[j] <= 0.01]
    active = next(m for m in at.metric if m.label.startswith("Active units"))
    assert active.value == f"{16 - len(inactive)} of 16"
    named = f"Inactive: {', '.join(inactive)}." if inactive else "Every unit is active."
    assert any(named in c.value for c in at.caption)


def test_missing_checkpoints_give_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "CHECKPOINT_DIR", tmp_path)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception and "No checkpoints found" in at.error[0].value
    for page in PAGES.values():
        at = _page(page, 60).run()
        assert not at.exception


def test_a_broken_checkpoint_breaks_only_its_own_view(tmp_path, monkeypatch):
    for name in ("ae", "vae", "classifier"):
        (tmp_path / f"{name}.safetensors").write_bytes(
            (BUNDLED / f"{name}.safetensors").read_bytes()
        )
    (tmp_path / "ae.safetensors").write_bytes(b"\x80\x04not really a checkpoint")
    monkeypatch.setattr(cache, "CHECKPOINT_DIR", tmp_path)
    at = _page(PAGES["sliders"]).run()
    assert not at.exception
    assert display.plain("Cannot load the AE (d=16) checkpoint") in at.error[0].value
    assert "refusing to unpickle" in at.error[0].value
    at = _page(PAGES["kl"]).run()
    assert not at.exception and not at.error


def test_interpolation_between_two_seeds_uses_each_prior():
    at = _run(PAGES["interpolation"], ip_live=False, ip_source="Two seeds")
    at.select_slider(key="ip_lambda").set_value(1.0).run()
    ckpt, _ = _bundled("vae")
    a = ckpt.model.sample(1, torch.Generator().manual_seed(1))[0]
    assert at.session_state["ip_code_vae"] == pytest.approx(a.tolist(), abs=1e-6)


def _decoded_at(name: str, x: float, y: float) -> torch.Tensor:
    return views.decode(_bundled(name)[0].model, torch.tensor([[x, y]]))[0]


def _component(at: AppTest, name: str) -> dict | None:
    """The data a page sent the Streamlit component ``latent_explorer.<name>``, or None."""
    import json

    def walk(node):
        proto = getattr(node, "proto", None)
        if getattr(proto, "component_name", None) == f"latent_explorer.{name}":
            return json.loads(json.loads(proto.json)["json"])
        for child in getattr(node, "children", {}).values():
            if (found := walk(child)) is not None:
                return found
        return None

    return walk(at._tree)


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


def _finished_live_run(tmp_path, monkeypatch, records: list[dict]) -> AppTest:
    """The KL page of a session whose live run has written ``records`` and stopped."""
    import json

    from explorer import train, training_runs

    run_dir = tmp_path / "live-me"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    args = train.make_args("vae", epochs=3, out=str(run_dir / "vae.safetensors"),
                           run_dir=str(run_dir), progress=False)  # fmt: skip
    runs = training_runs.LiveRuns()
    runs._runs["me"] = training_runs.LiveRun(args, error="stopped", finished=True)
    runs._names["me"] = {run_dir.name}  # the runs this browser started
    monkeypatch.setattr(training, "live_runs", lambda: runs)
    monkeypatch.setattr(training, "browser_id", lambda: "me")  # runs belong to a browser
    monkeypatch.setattr(cache, "RUNS_DIR", tmp_path)
    return _run(PAGES["kl"], session_id="me")


STEP = {"type": "step", "epoch": 2, "step": 256, "recon": -120.0, "kl": 20.0, "elbo": -140.0,
        "kl_per_dim": [1.0] * 8, "epochs": 3, "epoch_steps": 141}  # fmt: skip
EPOCH = {"type": "epoch", "epoch": 1, "step": 141, "val_elbo": -150.0, "val_recon": -130.0,
         "val_kl": 20.0, "kl_per_dim": [1.0] * 8}  # fmt: skip


def test_a_stopped_live_run_keeps_the_page_and_the_follow_tab(tmp_path, monkeypatch):
    # Its charts were keyed kl_live_steps / kl_live_epochs, the second also the Epochs input's
    # key: a full rerun with points on the charts raised StreamlitDuplicateElementKey.
    at = _finished_live_run(tmp_path, monkeypatch, [STEP, EPOCH, {"type": "test", "test_elbo": 1}])
    assert any("Live run live-me: stopped" in c.value for c in at.caption)
    assert at.selectbox(key="kl_follow").options == ["live-me"]
    assert len(at.get("plotly_chart")) >= 4  # both dashboards drew
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("validation digits, per epoch" in t and "val_elbo" in t for t in titles)
    progress = [c.value for c in at.caption if c.value.startswith("Run live-me")]
    assert progress == ["Run live-me: epoch 2 of 3, step 115 of 141"] * 2  # no server paths


def test_the_live_dashboard_waits_for_its_first_epoch_in_words(tmp_path, monkeypatch):
    at = _finished_live_run(tmp_path, monkeypatch, [STEP])
    assert any("at the end of the first epoch" in c.value for c in at.caption)
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert not any("validation digits, per epoch" in t for t in titles)


def test_sliders_page_names_what_it_shows(monkeypatch):
    # The server path: the traversal strip is an image (in the browser path the live control's
    # runtime draws it; tests/test_browser_runtime.py).
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


@pytest.mark.parametrize("alive", [True, False])
def test_follow_a_run_refreshes_only_while_its_run_trains(tmp_path, monkeypatch, alive):
    import json
    import subprocess
    import sys

    import streamlit

    from explorer import trainstate

    start = trainstate.start_record(epochs=3, epoch=0)
    if not alive:  # a process that has ended: a killed command-line run
        done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        start = {**start, "pid": int(done.stdout), "process_start": None}
    run_dir = tmp_path / "cli-run"
    run_dir.mkdir()
    records = [start, STEP]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    timers = []
    real = streamlit.fragment

    def spy(*args, **kwargs):
        timers.append(kwargs.get("run_every"))
        return real(*args, **kwargs)

    monkeypatch.setattr(streamlit, "fragment", spy)
    monkeypatch.setattr(cache, "RUNS_DIR", tmp_path)
    at = _run(PAGES["kl"])
    assert any("cli-run" in c.value for c in at.caption)
    assert (2.0 in timers) == alive  # "Follow a run" polls a live run only
