"""A training run (train.run): it writes its checkpoint, metrics log and samples, its held-out
metrics and active units reproduce from the checkpoint, it is deterministic for a seed, resume
continues exactly (also after a kill mid-write) and refuses a finished or different run, a NaN
keeps the last good checkpoint, choices see validation and the test digits are scored once, the
KL warm-up and cosine schedule follow the step, and encoding and evaluation in chunks give the
same numbers.
"""

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
