"""The training CLI's arguments and errors: a bad argument or size is refused before any work,
and an unwritable output, a full disk, a NaN, a bad resume file or a failed allocation ends the
run in one line; the most draws allowed and an IDX file that claims a million digits stay in
little memory.
"""

import json
import subprocess
import sys

import pytest
import torch

from explorer import checkpoints, objectives, train
from tests.conftest import ROOT


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


@pytest.mark.slow
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
