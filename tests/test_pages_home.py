"""The home page and the app without its models, in Streamlit's AppTest: the home page shows one
sample grid per bundled checkpoint and a new seed draws new samples; with no checkpoints every
page opens with one clear message, and a broken checkpoint breaks only the view that uses it.
"""

import torch
from streamlit.testing.v1 import AppTest

from explorer import checkpoints, images, markdown, precompute, store, views
from explorer.ui import cache, display
from tests.conftest import BUNDLED, ROOT
from tests.pages_helpers import PAGES, _images, _page


def test_home_page():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
    assert not at.exception
    titles = [s.value for s in at.subheader]
    names = list(checkpoints.discover(BUNDLED))
    readers = [n for n in names if n.startswith("classifier")]
    generative = [n for n in names if n not in readers]
    assert titles == [cache.label(n) for n in generative + readers]  # the readers last
    before = _images(at)
    at.number_input(key="home_seed").set_value(5).run()
    after = _images(at)
    assert before["64 random samples"] != after["64 random samples"]
    vae = checkpoints.load(BUNDLED / "vae.safetensors").model
    expected = images.grid(views.decode(vae, vae.sample(64, torch.Generator().manual_seed(5))), 8)
    assert cache.sample_grid("vae", "any", 5) == images.png_bytes(expected, scale=2)


def test_home_opens_without_charts_and_its_curves_are_one_switch_away():
    """A first view without Plotly (seven charts cost about two seconds in the browser): each
    model's held-out numbers are a Markdown table; the switch draws one chart per model and
    writes ``curves=on`` to the link, and that link opens with them."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
    names = checkpoints.discover(BUNDLED)
    assert not at.exception and not at.get("plotly_chart") and not at.dataframe
    vae = checkpoints.load(BUNDLED / "vae.safetensors")
    label, value = views.held_out_rows(vae.meta)[0]
    tables = [m.value for m in at.markdown if m.value.startswith("| test digits | value |")]
    assert len(tables) == len(names)
    assert f"| {markdown.cell(label)} | {markdown.cell(value)} |" in "\n".join(tables)
    at.toggle(key="home_curves").set_value(True).run()
    assert len(at.get("plotly_chart")) == len(names)
    assert at.query_params["curves"] == "on"
    again = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    again.query_params["curves"] = "on"
    again.run()
    assert len(again.get("plotly_chart")) == len(names) and again.toggle(key="home_curves").value


def test_homes_default_samples_are_shipped_and_are_what_the_models_draw(tmp_path):
    """Home's first view reads each model's 64 samples at seed 0 from checkpoints/precomputed/
    (a model decode each, 0.5 s of a cold start); the shipped PNG is byte for byte what the
    bundled model draws now, and what a page computes when the file is missing."""
    shipped = store.Store(BUNDLED / precompute.SHIPPED, tmp_path / "empty")
    names = [n for n in checkpoints.discover(BUNDLED) if n.startswith(precompute.GRID_KINDS)]
    assert len(names) == 5
    for name in names:
        ckpt = checkpoints.load(BUNDLED / f"{name}.safetensors")
        arrays = shipped.get(precompute.grid_name(ckpt, 0))
        assert arrays is not None, f"{name}: run python -m explorer.precompute"
        assert arrays["png"].tobytes() == precompute.grid(ckpt, 0)["png"].tobytes()
    vae = checkpoints.load(BUNDLED / "vae.safetensors")
    assert (
        cache.sample_grid("vae", vae.sha256, 0)
        == shipped.get(precompute.grid_name(vae, 0))["png"].tobytes()
    )


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
