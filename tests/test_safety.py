"""A class shares one server: hostile checkpoints, uploads and values never take a page down."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from explorer import checkpoints
from explorer.ui import cache, uploads
from tests.conftest import BUNDLED, ROOT


def rendered(markdown: str) -> str:
    """The text a Markdown string shows once its backslash escapes are read."""
    return re.sub(r"\\(.)", r"\1", markdown)


PAGES = ["pages/1_Latent_sliders.py", "pages/2_Interpolation.py", "pages/3_Latent_map.py",
         "pages/4_KL_and_ELBO.py"]  # fmt: skip


@pytest.fixture
def hostile_vae(tmp_path, monkeypatch):
    """Bundled checkpoints, except a vae whose config claims a width of 10,000,000."""
    for name in ("ae", "gan", "classifier"):
        (tmp_path / f"{name}.safetensors").write_bytes(
            (BUNDLED / f"{name}.safetensors").read_bytes()
        )
    config = {"kind": "vae", "latent_dim": 16, "width": 10_000_000}
    checkpoints.write_tensors(tmp_path / "vae.safetensors", {"w": __import__("torch").zeros(1)},
                              {"config": config})  # fmt: skip
    monkeypatch.setattr(cache, "CHECKPOINT_DIR", tmp_path)
    return tmp_path


def test_a_huge_config_gives_one_message_and_every_page_still_draws(hostile_vae):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180).run()
    assert not at.exception
    errors = [rendered(e.value) for e in at.error]
    assert len(errors) == 1 and "width 10000000 is above the limit" in errors[0]
    assert str(hostile_vae) not in errors[0] and "checkpoints/vae.safetensors" in errors[0]
    # The rest of the page drew: the other models are there.
    assert [s.value for s in at.subheader] == [
        cache.label(n) for n in ("ae", "gan", "classifier")
    ]  # readers last
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])


def test_a_failed_load_is_cached_by_mtime(hostile_vae, monkeypatch):
    calls = []
    real = checkpoints.load

    def counting(path, kind=None):
        calls.append(path)
        return real(path, kind)

    cache._load.clear()
    monkeypatch.setattr(checkpoints, "load", counting)
    for _ in range(3):
        with pytest.raises(checkpoints.CheckpointError, match="above the limit"):
            cache.load("vae")
    assert len(calls) == 1
    path = hostile_vae / "vae.safetensors"
    __import__("os").utime(path, (1, 1))  # a new file (new mtime) is checked again
    with pytest.raises(checkpoints.CheckpointError):
        cache.load("vae")
    assert len(calls) == 2
    cache._load.clear()


def test_hide_paths_removes_server_folders():
    text = f"{cache.CHECKPOINT_DIR}/vae.safetensors and {cache.RUNS_DIR}/live-x and {ROOT}/data"
    assert cache.hide_paths(text) == "checkpoints/vae.safetensors and runs/live-x and ./data"


def test_an_upload_is_decoded_once_per_content_and_failures_are_kept(monkeypatch):
    import hashlib

    from explorer import images
    from tests.test_images import _photo, _png

    calls = []
    real = images.read_upload
    monkeypatch.setattr(images, "read_upload", lambda data: calls.append(1) or real(data))
    uploads.decode_upload.clear()
    good = _png((_photo(0.9, 0.1) * 255).astype("uint8"))
    bad = b"not an image"
    for data in (good, good, bad, bad, good):
        result = uploads.decode_upload(hashlib.sha256(data).hexdigest(), data)
    assert len(calls) == 2
    gray, digit = result
    assert digit.shape == (1, 28, 28) and gray.dtype.name == "uint8" and max(gray.shape) <= 256
    assert "not a readable PNG" in uploads.decode_upload(hashlib.sha256(bad).hexdigest(), bad)
    uploads.decode_upload.clear()


def test_number_inputs_show_the_value_used_and_errors_hide_details():
    import tomllib

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.switch_page(PAGES[3])
    at.session_state["kl_live_epochs"] = 10**6  # as a hostile client could send it
    at.session_state["kl_live_dim"] = -5
    at.session_state["kl_live_beta"] = float("nan")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="kl_live_epochs").value == 30
    assert at.number_input(key="kl_live_dim").value == 1
    assert at.number_input(key="kl_live_beta").value == 0.0
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] in ("type", "none")


BAD_SPLITS = [
    ({"dataset": "mnist", "seed": 0, "test_size": 1e9}, "split.test_size"),
    ({"dataset": "mnist", "seed": -1, "test_size": 500}, "split.seed"),
    ({"dataset": "mnist", "seed": 0, "test_size": 500, "extra": 1}, "unknown keys: extra"),
    ({"dataset": "cifar", "seed": 0, "test_size": 500}, "split.dataset"),
    ("x", "split must be a JSON object"),
]


def _with_split(folder, split) -> None:
    """The bundled vae with its summary's split replaced."""
    tensors, meta = checkpoints.read_tensors(BUNDLED / "vae.safetensors")
    checkpoints.write_tensors(folder / "vae.safetensors", tensors,
                              {**meta, "summary": {**meta["summary"], "split": split}})  # fmt: skip


@pytest.mark.parametrize("split,message", BAD_SPLITS)
def test_a_bad_split_is_refused_when_the_checkpoint_loads(tmp_path, split, message):
    _with_split(tmp_path, split)
    with pytest.raises(checkpoints.CheckpointError, match="bad data split") as caught:
        checkpoints.load(tmp_path / "vae.safetensors")
    assert message in str(caught.value)


@pytest.mark.slow
@pytest.mark.parametrize("split", ["x", {"dataset": "idx:/etc", "seed": 0, "test_size": 500}])
def test_a_bad_split_gives_one_message_on_home_and_the_vae_pages(tmp_path, monkeypatch, split):
    for name in ("ae", "classifier"):
        (tmp_path / f"{name}.safetensors").write_bytes(
            (BUNDLED / f"{name}.safetensors").read_bytes()
        )
    _with_split(tmp_path, split)
    monkeypatch.setattr(cache, "CHECKPOINT_DIR", tmp_path)
    for page in (None, "pages/1_Latent_sliders.py", "pages/4_KL_and_ELBO.py"):
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
        if page:
            at.switch_page(page)
            at.session_state["keep_sl_model"] = "vae"
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
        errors = [rendered(e.value) for e in at.error]
        assert len(errors) == 1 and "Cannot load the VAE (d=16) checkpoint" in errors[0], errors
