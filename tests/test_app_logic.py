"""Pure functions behind the pages: plot selections, views, live-run caps and metrics logs."""

import json
import re
import threading
import time

import numpy as np
import pytest
import torch

from explorer import checkpoints, train, training_runs, trainstate, views
from explorer.models import ModelConfig, build


def test_default_pair_skips_a_lassos_same_digit_neighbours():
    labels = np.array([3, 3, 3, 7, 1])
    assert views.default_pair([0, 1, 2, 3, 4], labels) == (0, 3)  # a lasso lists 3s first
    assert views.default_pair([4, 1], labels) == (4, 1)  # two clicks: exactly those two
    assert views.default_pair([0, 1], labels) == (0, 1)  # all one digit: still two points
    with pytest.raises(ValueError, match="two selected points"):
        views.default_pair([2], labels)


def test_run_progress_counts_steps_within_the_epoch():
    step = {"epoch": 2, "step": 256, "epochs": 3, "epoch_steps": 141}
    assert views.run_progress([step], []) == "epoch 2 of 3, step 115 of 141"
    done = {"epoch": 2, "step": 282}
    assert views.run_progress([step], [done]) == "epoch 2 of 3 done"
    assert views.run_progress([{"epoch": 1, "step": 40}], []) == "epoch 1, step 40"  # old logs
    assert views.run_progress([], [{"epoch": 4, "step": 9}]) == "epoch 4 done"


def test_strip_measures_the_path(tiny_runs):
    vae = checkpoints.load(tiny_runs["vae"]).model
    clf = checkpoints.load(tiny_runs["classifier"]).model
    a, b = torch.zeros(16), torch.ones(16)
    result = views.strip(vae, a, b, 5, "linear", clf)
    torch.testing.assert_close(result.frames[0], views.decode(vae, a)[0])
    torch.testing.assert_close(result.frames[-1], views.decode(vae, b)[0])
    assert result.lams.tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    expected = (result.frames[1:] - result.frames[:-1]).abs().flatten(1).mean(1).numpy()
    np.testing.assert_allclose(result.mean_change, expected, rtol=1e-6)
    assert ((result.confidence > 0) & (result.confidence <= 1)).all()


def test_filmstrips_vary_one_slider_each(tiny_runs):
    from explorer import latent

    ae = checkpoints.load(tiny_runs["ae"]).model
    space = latent.slider_space(ae)
    coeffs = (space.low + space.high) / 2
    strips = views.filmstrips(ae, space, coeffs, 5)
    assert strips.shape == (16, 5, 28, 28)
    z = coeffs.clone()
    z[3] = space.high[3]
    torch.testing.assert_close(strips[3, -1], views.decode(ae, space.to_code(z))[0, 0])


def test_elbo_report_matches_the_loss_functions(tiny_runs):
    from explorer import losses

    vae = checkpoints.load(tiny_runs["vae"]).model
    x = torch.rand(1, 28, 28)
    report = views.elbo_report(vae, x, samples=256)
    mu, logvar = vae.posterior(x.unsqueeze(0))
    np.testing.assert_allclose(
        report.kl_per_dim, losses.kl_per_dim(mu, logvar)[0].detach().numpy(), rtol=1e-5
    )
    # 2,000 samples: the estimate lands within a few percent of the closed form.
    np.testing.assert_allclose(report.kl_monte_carlo, report.kl_per_dim, rtol=0.1, atol=0.05)
    assert report.elbo == pytest.approx(report.reconstruction - report.kl)
    assert report.objective(2.0) == pytest.approx(-report.reconstruction + 2 * report.kl)


def test_metrics_log_reader_skips_a_half_written_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps({"type": "step", "step": 1}) + "\n" + json.dumps({"type": "epoch", "epoch": 1})
                    + "\n" + '{"type": "st')  # fmt: skip
    steps, epochs = training_runs.read_metrics(path)
    assert steps == [{"type": "step", "step": 1}] and epochs == [{"type": "epoch", "epoch": 1}]
    assert training_runs.read_metrics(tmp_path / "absent.jsonl") == ([], [])
    assert training_runs.discover_runs(tmp_path.parent)[tmp_path.name] == path


def test_live_runs_respect_the_caps_and_stop(tmp_path, monkeypatch):
    release = threading.Event()

    def fake_run(args, stop=None, on_epoch=None):
        while not (stop.is_set() or release.is_set()):
            time.sleep(0.01)
        if stop.is_set():
            raise train.TrainingStopped("stopped")
        return {}

    monkeypatch.setattr(train, "run", fake_run)
    runs = training_runs.LiveRuns(max_runs=2)
    args = train.make_args("vae", dataset="digits", out=str(tmp_path / "v.safetensors"))
    first = runs.start("alice", args)
    with pytest.raises(training_runs.CapacityError, match="already have a live run"):
        runs.start("alice", args)
    runs.start("bob", args)
    with pytest.raises(training_runs.CapacityError, match="already training 2 live runs"):
        runs.start("carol", args)
    runs.stop("alice")
    first.thread.join(60)
    assert first.error == "stopped" and runs.active() == 1
    runs.start("carol", args)
    release.set()
    for run in (runs.get("bob"), runs.get("carol")):
        run.thread.join(60)
    assert runs.active() == 0


def test_one_address_cannot_take_every_slot_by_clearing_its_cookies(tmp_path, monkeypatch):
    release = threading.Event()

    def fake_run(args, stop=None, on_epoch=None):
        while not (stop.is_set() or release.is_set()):
            time.sleep(0.01)
        return {}

    monkeypatch.setattr(train, "run", fake_run)
    runs = training_runs.LiveRuns(max_runs=2, per_address=1)
    args = train.make_args("vae", dataset="digits", out=str(tmp_path / "v.safetensors"))
    runs.start("browser-1", args, address="10.0.0.7")
    # The same student with new cookies is a new owner, but the same address.
    with pytest.raises(training_runs.CapacityError, match="limit per address is 1"):
        runs.start("browser-2", args, address="10.0.0.7")
    runs.start("browser-3", args, address="10.0.0.8")  # another student takes the other slot
    assert training_runs.LiveRuns().per_address == max(
        1, training_runs.MAX_RUNS - 1
    )  # never every slot
    release.set()
    for owner in ("browser-1", "browser-3"):
        runs.get(owner).thread.join(60)


def test_a_real_live_run_trains_and_logs(tmp_path):
    runs = training_runs.LiveRuns()
    args = train.make_args("vae", dataset="digits", epochs=1, latent_dim=2, progress=False,
                           batch_size=32, out=str(tmp_path / "v.safetensors"),
                           run_dir=str(tmp_path), log_every=2)  # fmt: skip
    run = runs.start("s", args)
    run.thread.join(120)
    assert run.finished and run.error == ""
    steps, epochs = training_runs.read_metrics(run.metrics_path)
    # 25 steps of 32 of the 797 training digits, logged every 2nd step.
    assert len(epochs) == 1 and len(steps) == 12 and len(steps[0]["kl_per_dim"]) == 2


def test_decode_accepts_one_code_or_many():
    vae = build(ModelConfig("vae", 4)).eval()
    z = torch.randn(4)
    assert views.decode(vae, z).shape == (1, 1, 28, 28)
    torch.testing.assert_close(views.decode(vae, z.repeat(3, 1))[2], views.decode(vae, z)[0])


def _blocking_run(monkeypatch):
    """train.run replaced by a loop that only ends when stopped."""

    def fake_run(args, stop=None, on_epoch=None):
        while not stop.wait(0.01):
            pass
        raise train.TrainingStopped("stopped")

    monkeypatch.setattr(train, "run", fake_run)


def test_a_run_whose_owner_is_gone_is_stopped_and_a_connected_one_kept(tmp_path, monkeypatch):
    _blocking_run(monkeypatch)
    connected = {"tab-b"}
    runs = training_runs.LiveRuns(max_runs=2, is_connected=connected.__contains__, grace_s=30)
    args = [train.make_args("vae", dataset="digits", out=str(tmp_path / n / "v.safetensors"),
                            run_dir=str(tmp_path / n)) for n in ("live-a", "live-b")]  # fmt: skip
    a = runs.start("browser-a", args[0], "tab-a")
    b = runs.start("browser-b", args[1], "tab-b")
    now = time.monotonic()
    assert runs.reap(now + 10) == []  # within the grace period
    runs.seen("browser-a", "tab-a2")  # a reload: a new tab of the same browser
    connected.add("tab-a2")
    assert runs.reap(now + 100) == []
    connected.discard("tab-a2")  # the tab closed
    assert runs.reap(now + 200) == ["browser-a"]
    a.thread.join(60)  # returns as soon as the run ends; long only on a busy machine
    assert not a.running and "page was closed" in a.error and b.running
    (tmp_path / "live-b").mkdir()
    # The operator: python -m explorer.training_runs stop
    (tmp_path / "live-b" / training_runs.STOP_FILE).touch()
    runs.reap()  # (or the watchdog, within a second)
    b.thread.join(60)
    assert b.error == "stopped by the server's operator" and runs.active() == 0
    assert runs.names("browser-a") == {"live-a"} and runs.names("nobody") == set()


def test_operator_stop_command_and_pruning_and_who_sees_which_runs(tmp_path, monkeypatch, capsys):
    import os

    for i, name in enumerate(["cli-vae", "live-aaaa-1", "live-bbbb-1", "live-aaaa-2"]):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.jsonl").write_text("{}\n")
        os.utime(tmp_path / name, (1000 + i, 1000 + i))
    assert set(training_runs.visible_runs(tmp_path, {"live-aaaa-2"})) == {"cli-vae", "live-aaaa-2"}
    assert len(training_runs.visible_runs(tmp_path, set(), share=True)) == 4
    monkeypatch.setenv("LATENT_EXPLORER_RUNS", str(tmp_path))
    assert training_runs.main(["stop"]) == 0
    assert "asked 3 run(s) to stop" in capsys.readouterr().out
    assert (tmp_path / "live-bbbb-1" / training_runs.STOP_FILE).exists()
    assert not (tmp_path / "cli-vae" / training_runs.STOP_FILE).exists()
    deleted = training_runs.prune_live_dirs(tmp_path, keep=1, running={"live-aaaa-1"})
    assert deleted == ["live-bbbb-1"] and (tmp_path / "cli-vae").is_dir()
    assert (tmp_path / "live-aaaa-1").is_dir() and (tmp_path / "live-aaaa-2").is_dir()


def test_an_in_app_run_writes_no_resume_state(tmp_path):
    args = train.make_args("vae", dataset="digits", epochs=1, latent_dim=2, progress=False,
                           out=str(tmp_path / "v.safetensors"), run_dir=str(tmp_path),
                           write_resume=False)  # fmt: skip
    train.run(args)
    assert (tmp_path / "v.safetensors").is_file() and not args.resume_path.exists()


def test_values_from_the_live_control_are_clamped_on_the_server():
    from explorer.ui import controls

    sliders = [{"low": 0.0, "high": 1.0, "step": 0.01}, {"low": -3.0, "high": 3.0, "step": 0.01}]
    assert controls.clamp_values([5.0, -1e9], sliders) == [1.0, -3.0]
    assert controls.clamp_values([0.123456, 1.234], sliders) == [0.12, 1.23]
    assert controls.clamp_values([float("inf"), 0], sliders) == [1.0, 0.0]
    for bad in ([float("nan"), 0.0], [0.5], "0.5", None, [0.5, "x"], [True, 0.0]):
        assert controls.clamp_values(bad, sliders) is None


def test_home_names_held_out_numbers_with_their_noise_and_draws():
    from explorer import views

    meta = {"metrics": {"test_elbo": -101.234, "test_elbo_noise": 0.012, "test_iwae": -97.5,
                        "test_iwae_noise": 0.031, "test_eval_k": 1000, "active_dims": 14,
                        "test_kl_per_dim": [1.0, 2.0]}}  # fmt: skip
    rows = dict(views.held_out_rows(meta))
    assert rows["log-likelihood, IWAE bound L_1000 (nats)"] == "-97.50 ± 0.03"
    assert rows["ELBO (nats), 1000 draws of z"] == "-101.23 ± 0.01"
    assert rows["active units (Burda et al.)"] == "14" and len(rows) == 3
    old = dict(views.held_out_rows({"metrics": {"test_elbo": -109.56, "test_accuracy": 0.986}}))
    assert old == {"ELBO (nats)": "-109.6", "accuracy": "0.986"}
    split = {"dataset": "mnist", "seed": 0, "test_size": 500, "val_size": 500}
    assert views.split_text(split) == "mnist: 500 validation / 500 test held out (seed 0)"
    assert views.split_text({"dataset": "mnist", "seed": 0, "test_size": 500}) == (
        "mnist: 500 test held out (seed 0)"
    )


def test_operator_stop_accepts_only_in_app_run_folders_in_the_runs_directory(
    tmp_path, capsys, monkeypatch
):
    runs, elsewhere = tmp_path / "runs", tmp_path / "elsewhere"
    for folder in (runs / "live-a", runs / "cli-vae", elsewhere):
        folder.mkdir(parents=True)
    (runs / "live-link").symlink_to(elsewhere, target_is_directory=True)
    for name in (str(elsewhere), "../elsewhere", "live-a/../../elsewhere", "cli-vae", "/"):
        with pytest.raises(ValueError, match="is not an in-app run's name"):
            training_runs.request_stop(runs, name)
    assert training_runs.request_stop(runs, "live-link") == []  # a link out of the runs folder
    assert (
        not (elsewhere / training_runs.STOP_FILE).exists()
        and not (runs / "cli-vae" / "STOP").exists()
    )
    assert training_runs.request_stop(runs, "live-a") == ["live-a"]
    assert (runs / "live-a" / training_runs.STOP_FILE).exists()
    monkeypatch.setenv("LATENT_EXPLORER_RUNS", str(runs))
    assert training_runs.main(["stop", str(elsewhere)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not an in-app run's name" in err
    assert not (elsewhere / training_runs.STOP_FILE).exists()


def test_a_failed_live_run_names_no_absolute_server_path(tmp_path):
    """A live run whose folder is a file fails; its message (shown on the page) and its log
    name the folder as runs/<name>, never the server's absolute path."""
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    (runs_dir / "live-x").write_text("a file, not a folder")
    args = train.make_args("vae", dataset="digits", epochs=1, progress=False, eval_k=0,
                           out=str(runs_dir / "live-x" / "vae.safetensors"),
                           run_dir=str(runs_dir / "live-x"), write_resume=False)  # fmt: skip
    run = training_runs.LiveRuns().start("alice", args)
    run.thread.join(60)
    assert run.finished and run.error and "runs/live-x" in run.error
    assert str(tmp_path) not in run.error
    assert not re.search(r"(^|[\s'\"(:])/\w", run.error), run.error
    assert training_runs.hide_paths("no such file: '/srv/app/checkpoints/vae.safetensors'") == (
        "no such file: '…/vae.safetensors'"
    )
    assert training_runs.hide_paths("runs/live-x and 1/2 and ~/x") == "runs/live-x and 1/2 and ~/x"


def _log(path, *records):
    path.write_text("".join(json.dumps({"time": 0, **r}) + "\n" for r in records))
    return path


def test_a_run_whose_process_is_gone_shows_as_stopped(tmp_path):
    """Follow a run: a killed command-line run ("epoch 1 of 1, step 1090 of 15610" for ever)
    shows as stopped once the process its start record names is gone."""
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    mine = trainstate.start_record(epochs=1, epoch=0)
    dead = {**mine, "pid": int(gone.stdout)}
    step = {"type": "step", "epoch": 1, "step": 1090, "epochs": 1, "epoch_steps": 15610}
    status = trainstate.run_status(_log(tmp_path / "a.jsonl", dead, step))
    assert status.state == "stopped" and status.note == " (stopped: its training process has ended)"
    assert trainstate.run_status(_log(tmp_path / "b.jsonl", mine, step)).state == "running"
    reused = {**mine, "process_start": mine["process_start"] - 1}  # Linux: a recycled pid
    assert trainstate.run_status(_log(tmp_path / "c.jsonl", reused, step)).state == "stopped"
    done = {"type": "epoch", "epoch": 1, "step": 15610}
    assert trainstate.run_status(_log(tmp_path / "d.jsonl", dead, step, done)).state == "finished"
    ended = {"type": "end", "reason": "stopped by the server's operator"}
    assert trainstate.run_status(
        _log(tmp_path / "e.jsonl", mine, step, ended)
    ) == trainstate.RunStatus("stopped", "stopped by the server's operator")
    failed = {"type": "end", "reason": "OSError: [Errno 28] No space left on device"}
    assert trainstate.run_status(_log(tmp_path / "e2.jsonl", mine, step, failed)).note == (
        " (stopped: OSError: [Errno 28] No space left on device)"
    )
    resumed = {**mine, "epochs": 2, "from_epoch": 1}  # a resumed run: its own start record
    assert trainstate.run_status(_log(tmp_path / "f.jsonl", dead, done, resumed)).state == "running"
    assert trainstate.run_status(_log(tmp_path / "g.jsonl", step)).state == "unknown"
    elsewhere = {**dead, "host": "another-machine"}
    assert trainstate.run_status(_log(tmp_path / "h.jsonl", elsewhere, step)).state == "running"
    assert trainstate.run_status(tmp_path / "absent.jsonl").note == ""
