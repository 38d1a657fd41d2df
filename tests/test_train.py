"""The training CLI: arguments, checkpoints, metrics log, determinism, resume, NaN, torchrun."""

import json
import math
import os
import subprocess
import sys

import pytest
import torch

from explorer import checkpoints, losses, objectives, train, trainstate
from tests.conftest import ROOT


def _args(tmp_path, kind="vae", **kw):
    kw.setdefault("epochs", 1)
    return train.make_args(
        kind,
        dataset="digits",
        out=str(tmp_path / f"{kind}.safetensors"),
        run_dir=str(tmp_path / "run"),
        progress=False,
        **kw,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv,message",
    [
        (["vae", "--epochs", "0"], "--epochs must be positive, got 0"),
        (["vae", "--latent-dim", "0"], "latent dim must be at least 1, got 0"),
        (["flow"], "invalid choice: 'flow'"),
        (["vae", "--dataset", "cifar"], "unknown dataset 'cifar'"),
        (["vae", "--lr", "-1"], "--lr must be positive"),
        (["vae", "--dataset", "torchvision:mnist"], "torchvision is not importable here"),
        (["vae", "--rotate", "200"], "--rotate must be at most 180, got 200.0"),
        (["gan", "--r1", "-1"], "--r1 must not be negative, got -1.0"),
        (["gan", "--ema-decay", "2"], "--ema-decay must be at most 1, got 2.0"),
        (["gan", "--lr-d", "0"], "--lr-d must be positive, got 0.0"),
        (
            ["gan", "--val-reader", "nowhere.safetensors"],
            "--val-reader nowhere.safetensors: no such",
        ),
        (["vae", "--shift", "-1"], "--shift must not be negative, got -1"),
        (["vae", "--batch-size", "100000"], "--batch-size must be at most 512, got 100000"),
        (["vae", "--val-size", "-5"], "--val-size must not be negative, got -5"),
        (["gan", "--arch", "mlp"], "arch 'mlp' is not one for a gan: choose conv or sn or lite"),
    ],
)
def test_bad_arguments_get_one_clear_error_before_any_work(argv, message, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "explorer.train", *argv, "--out", str(tmp_path / "x.safetensors")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    assert message in result.stderr.splitlines()[-1]
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.slow
def test_a_run_writes_checkpoint_metrics_log_and_samples(tmp_path):
    summary = train.run(_args(tmp_path, epochs=2, log_every=5))
    ckpt = checkpoints.load(tmp_path / "vae.safetensors")
    assert ckpt.meta["epochs"] == 2 and ckpt.meta["split"]["dataset"] == "digits"
    assert [h["epoch"] for h in ckpt.meta["history"]] == [1, 2]
    assert summary["metrics"]["test_elbo"] == ckpt.meta["metrics"]["test_elbo"] < 0
    rows = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    steps = [r for r in rows if r["type"] == "step"]
    epochs = [r for r in rows if r["type"] == "epoch"]
    assert len(epochs) == 2 and len(steps) >= 4
    assert len(steps[0]["kl_per_dim"]) == 16
    # Enough for the page to say "epoch 2 of 2, step 5 of 21".
    per_epoch = epochs[0]["step"]
    assert {(r["epochs"], r["epoch_steps"]) for r in steps} == {(2, per_epoch)}
    assert epochs[-1]["elbo"] == pytest.approx(epochs[-1]["recon"] - epochs[-1]["kl"], rel=1e-6)
    assert (tmp_path / "run" / "samples" / "epoch_002.png").stat().st_size > 100
    # The first record names the process that trains it (Follow a run tells a killed run).
    assert rows[0]["type"] == "start" and rows[0]["pid"] == os.getpid()
    assert (rows[0]["epochs"], rows[0]["from_epoch"]) == (2, 0)
    assert trainstate.run_status(tmp_path / "run" / "metrics.jsonl").state == "finished"


@pytest.mark.slow
def test_held_out_metrics_reproduce_from_the_checkpoint(tmp_path):
    from explorer import data

    train.run(_args(tmp_path))
    ckpt = checkpoints.load(tmp_path / "vae.safetensors")
    _, test = data.load_split(data.Split(**ckpt.meta["split"]))
    again = objectives.evaluate("vae", ckpt.model, test.images, test.labels)
    assert again["test_elbo"] == pytest.approx(ckpt.meta["metrics"]["test_elbo"], rel=1e-5)


def test_training_logs_active_units_by_the_variance_of_posterior_means():
    from explorer import data
    from tests.conftest import BUNDLED

    ckpt = checkpoints.load(BUNDLED / "vae.safetensors")
    test = data.load_parts(data.Split(**ckpt.meta["split"]))[2]
    metrics = objectives.evaluate("vae", ckpt.model, test.images, test.labels)
    with torch.no_grad():
        means = ckpt.model.encode(test.images)
    # Burda et al.'s criterion on the posterior means, not the KL (tests/test_losses.py has a
    # unit whose KL is large while its mean stays put).
    assert metrics["active_dims"] == int(losses.active_units(means).sum())
    assert metrics["active_dims"] == ckpt.meta["metrics"]["active_dims"]


@pytest.mark.slow
def test_training_is_deterministic_for_a_seed(tmp_path):
    train.run(_args(tmp_path / "a", kind="ae"))
    train.run(_args(tmp_path / "b", kind="ae"))
    a = checkpoints.read_tensors(tmp_path / "a" / "ae.safetensors")[0]
    b = checkpoints.read_tensors(tmp_path / "b" / "ae.safetensors")[0]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_resume_continues_exactly_where_it_stopped(tmp_path):
    train.run(_args(tmp_path / "full", epochs=2))
    train.run(_args(tmp_path / "half", epochs=1))
    train.run(_args(tmp_path / "half", epochs=2, resume=True))
    full = checkpoints.read_tensors(tmp_path / "full" / "vae.safetensors")
    half = checkpoints.read_tensors(tmp_path / "half" / "vae.safetensors")
    assert all(torch.allclose(full[0][k], half[0][k], atol=1e-6) for k in full[0])
    assert half[1]["summary"]["epochs"] == 2 and len(half[1]["summary"]["history"]) == 2


def test_resume_of_a_finished_or_different_run_is_refused(tmp_path):
    train.run(_args(tmp_path))
    with pytest.raises(ValueError, match="already trained 1 epochs"):
        train.run(_args(tmp_path, resume=True))
    with pytest.raises(ValueError, match="saved run has latent_dim=16, this run 4"):
        train.run(_args(tmp_path, epochs=3, latent_dim=4, resume=True))


def test_a_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    train.run(_args(tmp_path))
    good = (tmp_path / "vae.safetensors").read_bytes()
    real = losses.bernoulli_log_likelihood
    calls = {"n": 0}

    def poisoned(logits, x):
        calls["n"] += 1
        value = real(logits, x)
        return value * float("nan") if calls["n"] > 3 else value

    monkeypatch.setattr(losses, "bernoulli_log_likelihood", poisoned)
    # Epoch 1 took ceil(797 / batch) steps (797 training digits, the other 1,000 held out); the
    # 4th call of epoch 2 is the step after 3 more.
    step = math.ceil(797 / train.DEFAULTS["vae"]["batch_size"]) + 4
    with pytest.raises(
        objectives.TrainingDiverged, match=f"VAE loss became nan at epoch 2, step {step}$"
    ):
        train.run(_args(tmp_path, epochs=3, resume=True))
    assert (tmp_path / "vae.safetensors").read_bytes() == good


@pytest.mark.slow
def test_cli_reports_a_nan_in_one_line(tmp_path):
    code = (
        "import sys, torch; from explorer import losses, train\n"
        "losses.kl_per_dim = lambda mu, lv: torch.full_like(mu, float('inf'))\n"
        "sys.exit(train.main(['vae','--dataset','digits','--epochs','1','--no-progress',"
        f"'--eval-k','0','--out',{str(tmp_path / 'v.safetensors')!r},"
        f"'--run-dir',{str(tmp_path / 'r')!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 1
    assert (
        "VAE loss became inf at epoch 1, step 1; stopped. No checkpoint was written."
        in result.stderr
    )


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
def test_sigkill_during_a_checkpoint_write_keeps_the_previous_one_and_resume_continues(tmp_path):
    """A process killed mid-write leaves only a stray temp file; the old checkpoint still loads."""
    import signal

    train.run(_args(tmp_path))
    good = (tmp_path / "vae.safetensors").read_bytes()
    killer = (
        "import os, signal, sys\n"
        "from explorer import checkpoints, train\n"
        "def half_then_die(tensors, path, metadata=None):\n"
        "    open(path, 'wb').write(b'partial safetensors bytes')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "checkpoints.save_file = half_then_die\n"
        "sys.exit(train.main(['vae','--dataset','digits','--epochs','2','--resume',"
        "'--no-progress','--eval-k','0',"
        f"'--out',{str(tmp_path / 'vae.safetensors')!r},'--run-dir',{str(tmp_path / 'run')!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", killer], cwd=ROOT, timeout=120, capture_output=True
    )
    assert result.returncode == -signal.SIGKILL
    assert (tmp_path / "vae.safetensors").read_bytes() == good
    assert checkpoints.load(tmp_path / "vae.safetensors").meta["epochs"] == 1
    resume = ["vae", "--dataset", "digits", "--epochs", "2", "--resume", "--no-progress"]
    files = ["--out", str(tmp_path / "vae.safetensors"), "--run-dir", str(tmp_path / "run")]
    assert train.main([*resume, "--eval-k", "0", *files]) == 0
    assert checkpoints.load(tmp_path / "vae.safetensors").meta["epochs"] == 2


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


@pytest.mark.parametrize(
    "option,message",
    [(["--width", "1000000"], "width 1000000 is above the limit"),
     (["--latent-dim", "10000000"], "latent-dim 10000000 is above the limit")],
)  # fmt: skip
def test_sizes_are_bounded_before_anything_is_allocated(option, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.parse_args(["vae", *option])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_unwritable_outputs_fail_before_training_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train, "run", lambda args: pytest.fail("trained before checking outputs"))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for out, message in [
        (tmp_path, "is a directory"),
        (a_file / "vae.safetensors", "cannot write"),
    ]:
        code = train.main(["vae", "--dataset", "digits", "--eval-k", "0", "--out", str(out),
                           "--run-dir", str(tmp_path / "run"), "--no-progress"])  # fmt: skip
        err = capsys.readouterr().err.strip()
        assert code == 2 and message in err and err.endswith("No checkpoint was written.")
        assert len(err.splitlines()) == 1


def test_disk_full_ends_with_one_line_naming_the_last_good_checkpoint(
    tmp_path, capsys, monkeypatch
):
    from safetensors import SafetensorError

    from explorer import checkpoints

    real, calls = checkpoints.save_file, []

    def fill_up(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:  # epoch 1 (checkpoint and resume state) fits, epoch 2 does not
            raise SafetensorError("Error while serializing: No space left on device (os error 28)")
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoints, "save_file", fill_up)
    out = tmp_path / "vae.safetensors"
    argv = ["vae", "--dataset", "digits", "--epochs", "3", "--eval-k", "0", "--no-progress"]
    code = train.main([*argv, "--out", str(out), "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "No space left on device" in err and len(err.splitlines()) == 1
    assert f"last good checkpoint, {out} (epoch 1), is kept" in err
    assert checkpoints.load(out).meta["epochs"] == 1


@pytest.mark.slow
def test_choices_see_validation_and_the_test_digits_are_scored_once_at_the_end(tmp_path):
    summary = train.run(_args(tmp_path, epochs=2, eval_k=20))
    history = summary["history"]
    assert all("val_elbo" in h and not any(k.startswith("test_") for k in h) for h in history)
    assert summary["split"]["val_size"] == 500
    assert summary["validation"]["val_elbo"] == history[-1]["val_elbo"]
    metrics = summary["metrics"]
    assert metrics["test_eval_k"] == 20 and metrics["test_iwae"] > metrics["test_elbo"]
    assert len(summary["evaluation"]["iwae"]) == 500
    rows = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["type"] for r in rows if r["type"] != "step"] == ["start", "epoch", "epoch", "test"]
    unseen = train.run(_args(tmp_path / "b", epochs=1, score_test=False))
    assert "metrics" not in unseen and "val_elbo" in unseen["validation"]


def test_kl_warm_up_and_the_cosine_schedule_follow_the_step():
    args = train.make_args("vae", dataset="digits", kl_warmup=2, beta=0.5, lr_schedule="cosine")
    assert [train._beta(args, s, 10) for s in (0, 9, 19, 50)] == pytest.approx(
        [0.5 / 20, 0.5 * 10 / 20, 0.5, 0.5]
    )
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], args.lr)
    lrs = []
    for step in (0, 50, 100):
        train._set_lr({"model": opt}, args, step, 100)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([args.lr, args.lr / 2, 0.0], abs=1e-12)


def test_scoring_a_run_chosen_on_validation_equals_scoring_it_at_the_end(tmp_path):
    direct = train.run(_args(tmp_path / "a", kind="ae", epochs=1))
    train.run(_args(tmp_path / "b", kind="ae", epochs=1, score_test=False))
    scored = train.score(tmp_path / "b" / "ae.safetensors", tmp_path / "b" / "scored.safetensors")
    assert scored["metrics"] == pytest.approx(direct["metrics"], rel=1e-5)
    ckpt = checkpoints.load(tmp_path / "b" / "scored.safetensors")
    assert ckpt.meta["metrics"] == scored["metrics"] and ckpt.meta["train"]["score_test"]


def _cli(tmp_path, *argv, timeout=300):
    """Run ``python -m explorer.train`` on the small data (1 epoch unless told), and read its
    peak RSS (bytes): (exit code, stderr, peak)."""
    code = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(r.stderr)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    files = ["--out", str(tmp_path / "vae.safetensors"), "--run-dir", str(tmp_path / "run")]
    command = [sys.executable, "-m", "explorer.train", "vae", "--dataset", "digits",
               "--no-progress", *files, *argv]  # fmt: skip
    if "--epochs" not in argv:
        command += ["--epochs", "1"]
    result = subprocess.run([sys.executable, "-c", code, *command], capture_output=True,
                            text=True, cwd=ROOT, timeout=timeout)  # fmt: skip
    returncode, peak_kib = map(int, result.stdout.split())
    return returncode, result.stderr, peak_kib * 1024


def _write_resume(path, meta: dict, tensors=None) -> None:
    """A resume file with this header (values already JSON text), written as safetensors."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": checkpoints.FORMAT, "format_version": str(checkpoints.FORMAT_VERSION)}
    save_file(tensors or {"w": torch.zeros(1)}, str(path), metadata={**header, **meta})


def _same_run(tmp_path) -> str:
    """The ``train`` header of a resume state of the run _cli starts (2 epochs)."""
    args = train.make_args("vae", dataset="digits", epochs=2, out=str(tmp_path / "vae.safetensors"))
    return json.dumps(args.recorded())


@pytest.mark.slow
@pytest.mark.parametrize(
    "meta,message",
    [
        ({"train": "[" * 100_000 + "]" * 100_000}, "metadata 'train' is nested too deeply"),
        ({"epoch": "1"}, "not a resume state (no 'train' in its header)"),
        ({"train": '"x"', "epoch": "1", "step": "1", "seconds": "1", "history": "[]",
          "optim_groups": "{}"}, "'train' and 'optim_groups' must be objects"),
        ({"epoch": '"one"', "step": "1", "seconds": "1", "history": "[]", "optim_groups": "{}"},
         "a bad epoch, step, seconds or history"),
        ({"epoch": "0", "step": "0", "seconds": "0", "history": "[]", "optim_groups": "{}"},
         "its tensors do not fit this run (Error(s) in loading state_dict"),
    ],
)  # fmt: skip
def test_a_bad_resume_file_ends_the_cli_in_one_line(tmp_path, meta, message):
    if "train" not in meta and "epoch" in meta and len(meta) > 1:
        meta = {"train": _same_run(tmp_path), **meta}
    _write_resume(tmp_path / "vae.resume.safetensors", meta)
    code, stderr, _ = _cli(tmp_path, "--epochs", "2", "--eval-k", "0", "--resume")
    lines = stderr.strip().splitlines()
    assert code == 2 and message in lines[-1] and "Traceback" not in stderr, stderr[-2000:]
    assert lines[-1].endswith("No checkpoint was written.")


def test_a_failed_allocation_ends_the_cli_in_one_line(tmp_path, capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: "
            "you tried to allocate 5017600000 bytes.\nmore detail"
        )

    monkeypatch.setattr(objectives, "step", no_memory)
    argv = ["vae", "--dataset", "digits", "--epochs", "1", "--eval-k", "0", "--no-progress"]
    code = train.main([*argv, "--out", str(tmp_path / "v.safetensors"), "--run-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "you tried to allocate 5017600000 bytes." in err and "more detail" not in err


@pytest.mark.slow
def test_the_most_draws_allowed_keep_the_cli_under_1_gb(tmp_path):
    """--eval-k 100000 (the limit): each digit's draws are decoded in chunks. With the MLP
    decoder (fast enough for a test) all of a digit's draws at once peaked at 1.7 GB; with the
    conv decoder, --eval-k 20000 peaked at 7.4 GB and 100000 failed on a 5 GB allocation."""
    code, stderr, peak = _cli(tmp_path, "--arch", "mlp", "--width", "32", "--test-size", "10",
                              "--val-size", "10", "--eval-k", "100000")  # fmt: skip
    assert code == 0, stderr[-2000:]
    assert peak < 1e9, f"peak RSS {peak / 1e9:.2f} GB"
    metrics = checkpoints.load(tmp_path / "vae.safetensors").meta["metrics"]
    assert metrics["test_eval_k"] == 100_000 and metrics["test_iwae"] >= metrics["test_elbo"]


@pytest.mark.slow
def test_an_idx_gzip_claiming_a_million_digits_ends_in_one_line_in_little_memory(tmp_path):
    """762 KB of gzip whose header claims 999,999 images (all there, all zeros): loading it
    took 6.95 GB; now the header is refused before the data is read."""
    import gzip

    import numpy as np

    from explorer import data

    folder = tmp_path / "idx"
    folder.mkdir()
    header = (0x0803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (999_999, 28, 28))
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb", compresslevel=1) as handle:
        handle.write(header)
        for _ in range(999_999 // 9_999):
            handle.write(bytes(784 * 9_999))
    data.write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(999_999, np.uint8))
    data.write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((10, 28, 28), np.uint8))
    data.write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(10))
    code, stderr, peak = _cli(tmp_path, "--dataset", f"idx:{folder}")
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert "claims 999,999 items; the limit is 100,000" in lines[0]
    assert peak < 1e9, f"peak RSS {peak / 1e9:.2f} GB"


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


def test_an_ae_records_its_code_statistics_encoding_in_chunks(tmp_path, monkeypatch):
    """At each epoch's end an AE encodes its training digits for the sliders' ranges, at most
    ENCODE_BATCH at a time: full MNIST's 60,000 at once took 3.6 GB."""
    from explorer import data
    from explorer.models import AutoEncoder

    sizes = []
    real = AutoEncoder.encode

    def counting(self, x):
        sizes.append(len(x))
        return real(self, x)

    monkeypatch.setattr(train, "ENCODE_BATCH", 100)
    monkeypatch.setattr(AutoEncoder, "encode", counting)
    args = _args(tmp_path, kind="ae", eval_k=0)
    train.run(args)
    digits = data.load_parts(args.split())[0].images
    assert sizes.count(100) == len(digits) // 100 and len(digits) not in sizes
    monkeypatch.setattr(AutoEncoder, "encode", real)
    model = checkpoints.load(tmp_path / "ae.safetensors").model
    with torch.no_grad():
        codes = model.encode(digits)
    torch.testing.assert_close(model.code_mean, codes.mean(0), rtol=0, atol=1e-5)
    torch.testing.assert_close(
        model.code_high, torch.quantile(codes, 0.99, dim=0), rtol=0, atol=1e-5
    )


@pytest.mark.parametrize("kind", ["vae", "ae", "classifier"])
def test_held_out_evaluation_in_chunks_gives_the_same_numbers(tiny_runs, monkeypatch, kind):
    from explorer import data

    model = checkpoints.load(tiny_runs[kind]).model
    _, test = data.load_split(data.Split("digits", 0, 300))
    whole = objectives.evaluate(kind, model, test.images, test.labels)
    monkeypatch.setattr(objectives, "EVAL_CHUNK", 7)  # 43 chunks, the last of 6
    chunked = objectives.evaluate(kind, model, test.images, test.labels)
    assert chunked.keys() == whole.keys()
    for key, value in whole.items():
        assert chunked[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
