"""What the AppTest page tests share (tests/test_pages_*.py, test_links, test_lesson and
test_class_views): each page's script, a page run with URL parameters and session state, the
images it shows by media id (Streamlit names each media file by a hash of its bytes, so comparing
an image element's URL with the id of the PNG we expect checks the exact pixels the page shows),
the data it sent a component, the bundled models, and a KL page whose live run has stopped.
"""

import torch
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from explorer import checkpoints, data, images
from explorer.ui import cache, training
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


def _run(
    page: str, params: dict[str, str] | None = None, *, timeout: float = 180, **state
) -> AppTest:
    """Run a page with these URL parameters and session state; it must raise nothing."""
    at = _page(page, timeout)
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


def _bundled(name: str):
    ckpt = checkpoints.load(BUNDLED / f"{name}.safetensors")
    _, test = data.load_split(data.Split(**ckpt.meta["split"]))
    return ckpt, test


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
