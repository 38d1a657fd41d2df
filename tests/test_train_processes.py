"""Training as operating-system processes: torchrun with two CPU processes writes a loadable
checkpoint, Ctrl-C keeps the last good checkpoint, and Follow a run shows a killed run as stopped.
"""

import os
import subprocess
import sys

import pytest

from explorer import checkpoints, trainstate
from tests.conftest import ROOT


@pytest.mark.slow
def test_torchrun_with_two_cpu_processes_writes_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "ddp.safetensors"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "explorer.train",
            "vae",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--eval-k",
            "0",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--run-dir",
            str(tmp_path / "run"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    ckpt = checkpoints.load(out)
    assert ckpt.meta["epochs"] == 1
    # Two ranks share the 797 training digits: 398 each, 13 batches of up to 32 per rank.
    assert ckpt.meta["history"][0]["step"] == 13
    assert (
        -784 * 0.7 < ckpt.meta["metrics"]["test_elbo"] < 0
    )  # finite and better than uniform pixels


@pytest.mark.slow
def test_ctrl_c_keeps_the_last_good_checkpoint(tmp_path):
    import signal
    import time

    out, run_dir = tmp_path / "vae.safetensors", tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "explorer.train", "vae", "--dataset", "digits", "--epochs", "50",
         "--eval-k", "0", "--no-progress", "--out", str(out), "--run-dir", str(run_dir)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    epochs = checkpoints.load(out).meta["epochs"]
    assert f"interrupted. The last good checkpoint, {out} (epoch {epochs}), is kept" in stderr


@pytest.mark.slow
def test_a_killed_cli_run_shows_as_stopped(tmp_path):
    """Follow a run showed a killed run as "epoch 1 of 1, step 1090 of 15610" for ever."""
    import signal
    import time

    log = tmp_path / "run" / "metrics.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "explorer.train", "vae", "--dataset", "digits", "--epochs", "50",
         "--eval-k", "0", "--log-every", "1", "--no-progress",
         "--out", str(tmp_path / "vae.safetensors"), "--run-dir", str(tmp_path / "run")],
        cwd=ROOT, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while '"type": "step"' not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    assert trainstate.run_status(log).state == "running"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    status = trainstate.run_status(log)
    assert status.state == "stopped" and "process has ended" in status.note
