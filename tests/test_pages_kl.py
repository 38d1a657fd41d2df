"""KL and ELBO in Streamlit's AppTest: the page's metrics follow the formulas (ELBO, the
β-weighted loss, Burda et al.'s active units), a stopped live run keeps the page and its Follow a
run tab, the live dashboard says in words that it waits for its first epoch, and Follow a run
refreshes only while its run trains.
"""

import pytest

from explorer import views
from explorer.ui import cache
from tests.pages_helpers import EPOCH, PAGES, STEP, _bundled, _finished_live_run, _run


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
