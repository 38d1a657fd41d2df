"""Train the bundled models: ``python -m explorer.train {ae,vae,gan,classifier} [options]``.

The defaults reproduce the checkpoints in ``checkpoints/`` (see its README for the commands).
Each epoch writes, atomically, the checkpoint (``--out``) and a resume state beside it
(``<out>.resume.safetensors``: weights, optimizer moments and RNG states). A metrics JSONL and
a sample grid per epoch go to ``--run-dir`` so the app can follow a run live.

Several GPUs or machines: ``torchrun --nproc_per_node N -m explorer.train vae`` runs
DistributedDataParallel (Li et al., "PyTorch Distributed", VLDB 2020), gloo on CPU, nccl on GPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors import SafetensorError
from tqdm import tqdm

from explorer import checkpoints, data, images, objectives, trainstate
from explorer.models import DEFAULT_LATENT, KINDS, ModelConfig, build

DEFAULTS = {
    "ae": {"epochs": 40, "batch_size": 32, "lr": 1e-3, "width": 128},
    "vae": {"epochs": 40, "batch_size": 32, "lr": 1e-3, "width": 128},
    "gan": {"epochs": 40, "batch_size": 64, "lr": 2e-4, "width": 64},
    "classifier": {"epochs": 15, "batch_size": 128, "lr": 1e-3, "width": 128},
}


class TrainingStopped(RuntimeError):
    """A stop was requested (the app's Stop button)."""


@dataclass
class TrainArgs:
    """Everything a run needs; recorded in the checkpoint so it can be repeated."""

    model: str
    latent_dim: int
    width: int
    epochs: int
    batch_size: int
    lr: float
    beta: float = 1.0
    dataset: str = "mnist"
    seed: int = 0
    test_size: int = data.DEFAULT_TEST_SIZE
    split_seed: int | None = None  # None: the split follows --seed
    out: str = ""
    run_dir: str = ""
    device: str = "auto"
    resume: bool = False
    log_every: int = 10
    progress: bool = True
    write_resume: bool = True  # in-app runs skip it: nobody resumes them, and it is 3x the weights
    extra: dict = field(default_factory=dict)

    def model_config(self) -> ModelConfig:
        return ModelConfig(self.model, self.latent_dim, self.width)

    def split(self) -> data.Split:
        seed = self.seed if self.split_seed is None else self.split_seed
        return data.Split(self.dataset, seed, self.test_size)

    @property
    def resume_path(self) -> Path:
        return Path(self.out).with_suffix(".resume.safetensors")


def make_args(model: str, **overrides) -> TrainArgs:
    """TrainArgs with the per-kind defaults, checked; used by the CLI, the app and tests."""
    values = {"latent_dim": DEFAULT_LATENT.get(model, 16), **DEFAULTS.get(model, {})}
    values.update({k: v for k, v in overrides.items() if v is not None})
    values.setdefault("out", f"checkpoints/{model}.safetensors")
    args = TrainArgs(model=model, **values)
    if not args.run_dir:
        args.run_dir = str(Path("runs") / Path(args.out).stem)
    validate(args)
    return args


def validate(args: TrainArgs) -> None:
    """One clear ValueError for the first bad argument, before any work."""
    if args.model not in KINDS:
        raise ValueError(f"unknown model {args.model!r}; choose one of {', '.join(KINDS)}")
    for name in ("epochs", "batch_size", "log_every"):
        if getattr(args, name) <= 0:
            raise ValueError(
                f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}"
            )
    if not args.lr > 0:
        raise ValueError(f"--lr must be positive, got {args.lr}")
    if args.beta < 0:
        raise ValueError(f"--beta must be non-negative, got {args.beta}")
    if args.device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {args.device!r}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but no CUDA GPU is visible")
    try:
        checkpoints.check_config(args.model_config().to_dict())  # sizes within the limits
    except ValueError as err:
        raise ValueError(f"--{str(err).replace('_', '-')}") from err
    data.check_spec(args.dataset)


def check_outputs(args: TrainArgs) -> None:
    """Before any training: ``--out`` and ``--run-dir`` can be created and written (a path
    under a file, a directory as --out, a read-only folder fail now, not after an epoch)."""
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(
            f"--out {out} is a directory; give a file name such as {out}/vae.safetensors"
        )
    for folder, flag in ((out.parent, "--out"), (Path(args.run_dir), "--run-dir")):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
                pass
        except OSError as err:
            raise ValueError(f"{flag}: cannot write to {folder} ({err.strerror or err})") from err


def run(
    args: TrainArgs,
    stop: threading.Event | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> dict:
    """Train to ``args.epochs`` epochs; returns the checkpoint summary."""
    rank, world, device = _setup_distributed(args.device)
    train_set, test_set = data.load_split(args.split())
    torch.manual_seed(args.seed + rank)
    model = build(args.model_config()).to(device)
    optimizers = objectives.make_optimizers(args.model, model, args.lr)
    shuffle = torch.Generator().manual_seed(args.seed)
    history: list[dict] = []
    start_epoch, global_step, seconds = 0, 0, 0.0
    if args.resume:
        start_epoch, global_step, seconds, history = trainstate.restore(
            args, model, optimizers, shuffle
        )
    trainee = _wrap_ddp(args.model, model, device) if world > 1 else model
    log = (
        trainstate.MetricsLog(Path(args.run_dir) / "metrics.jsonl", append=args.resume)
        if rank == 0
        else None
    )
    x_train, y_train = train_set.images.to(device), train_set.labels.to(device)
    x_test, y_test = test_set.images.to(device), test_set.labels.to(device)
    summary: dict = {}
    model.train()
    for epoch in range(start_epoch, args.epochs):
        began = time.perf_counter()
        order = torch.randperm(len(x_train), generator=shuffle)
        order = order[: len(order) // world * world][rank::world]  # equal share per rank
        batches = order.split(args.batch_size)
        rows = []
        bar = tqdm(
            batches,
            desc=f"{args.model} epoch {epoch + 1}/{args.epochs}",
            disable=not args.progress or rank != 0,
            leave=False,
        )
        for index in bar:
            if stop is not None and stop.is_set():
                raise TrainingStopped(f"stopped during epoch {epoch + 1}")
            try:
                rows.append(
                    objectives.step(
                        args.model, trainee, optimizers, x_train[index], y_train[index], args.beta
                    )
                )
            except objectives.TrainingDiverged as err:
                raise objectives.TrainingDiverged(
                    f"{err} at epoch {epoch + 1}, step {global_step + 1}"
                ) from err
            global_step += 1
            if log and global_step % args.log_every == 0:
                log.write({"type": "step", "epoch": epoch + 1, "step": global_step,
                           "epochs": args.epochs, "epoch_steps": len(batches), **rows[-1]})  # fmt: skip
        seconds += time.perf_counter() - began
        if rank == 0:
            summary = _finish_epoch(
                args,
                model,
                optimizers,
                shuffle,
                history,
                epoch,
                global_step,
                seconds,
                rows,
                (x_train, x_test, y_test),
                log,
            )
            if on_epoch:
                on_epoch(history[-1])
        if world > 1:
            dist.barrier()
    if log:
        log.close()
    return summary


def _finish_epoch(
    args, model, optimizers, shuffle, history, epoch, global_step, seconds, rows, tensors, log
) -> dict:
    """Evaluate, log, write samples, checkpoint and resume state (rank 0 only)."""
    x_train, x_test, y_test = tensors
    if args.model == "ae":
        with torch.no_grad():
            model.set_code_statistics(model.encode(x_train))
    record = {
        "epoch": epoch + 1,
        "step": global_step,
        "seconds": round(seconds, 2),
        **objectives.mean_metrics(rows),
        **objectives.evaluate(args.model, model, x_test, y_test),
    }
    history.append(record)
    log.write({"type": "epoch", **record})
    if args.model != "classifier":
        _write_samples(model, Path(args.run_dir) / "samples" / f"epoch_{epoch + 1:03d}.png")
    summary = {
        "train": {k: v for k, v in asdict(args).items() if k not in ("resume", "progress")},
        "split": args.split().to_dict(),
        "epochs": epoch + 1,
        "seconds": round(seconds, 1),
        "metrics": {k: v for k, v in record.items() if k.startswith("test_") or k == "active_dims"},
        "history": [_history_row(r) for r in history],
    }
    checkpoints.save(Path(args.out), model, summary)
    if args.write_resume:
        trainstate.save_resume(
            args, model, optimizers, shuffle, history, epoch + 1, global_step, seconds
        )
    return summary


def _history_row(record: dict) -> dict:
    """Scalars of an epoch record (per-dimension lists stay in the metrics log)."""
    return {k: v for k, v in record.items() if not isinstance(v, list)}


@torch.no_grad()
def _write_samples(model, path: Path) -> None:
    was_training = model.training
    model.eval()
    z = model.sample(64, torch.Generator().manual_seed(0)).to(next(model.parameters()).device)
    tiles = images.grid(model.decode(z).cpu(), ncol=8)
    model.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(images.png_bytes(tiles, scale=2))


def _setup_distributed(device_arg: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the process group when launched by torchrun."""
    use_cuda = device_arg == "cuda" or (device_arg == "auto" and torch.cuda.is_available())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, torch.device("cuda" if use_cuda else "cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    rank = dist.get_rank()
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def _wrap_ddp(kind: str, model, device):
    from types import SimpleNamespace

    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    if kind == "gan":
        return SimpleNamespace(
            generator=DDP(model.generator, device_ids=ids),
            discriminator=DDP(model.discriminator, device_ids=ids),
            latent_dim=model.latent_dim,
        )
    return DDP(model, device_ids=ids)


def parse_args(argv: list[str] | None = None) -> TrainArgs:
    parser = argparse.ArgumentParser(
        prog="python -m explorer.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("model", choices=KINDS)
    parser.add_argument("--latent-dim", type=int)
    parser.add_argument("--width", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--beta", type=float, default=1.0, help="KL weight (β-VAE)")
    parser.add_argument(
        "--dataset",
        default="mnist",
        help="mnist (bundled, 5,000 digits), digits (sklearn), idx:<folder>, "
        "or torchvision:mnist|fashion (needs internet and torchvision)",
    )
    parser.add_argument("--test-size", type=int, default=data.DEFAULT_TEST_SIZE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--split-seed",
        type=int,
        help="seed of the train/test split (default: --seed); fix it to train replicates of a "
        "model that differ only in initialisation and batch order",
    )
    parser.add_argument("--out", help="checkpoint file (default checkpoints/<model>.safetensors)")
    parser.add_argument("--run-dir", help="metrics.jsonl and samples/ (default runs/<out name>)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--resume", action="store_true", help="continue from <out>.resume.safetensors"
    )
    parser.add_argument("--log-every", type=int, default=10, help="steps between metrics lines")
    parser.add_argument("--no-progress", action="store_true")
    ns = parser.parse_args(argv)
    try:
        if ns.dataset.startswith("torchvision:"):
            ns.dataset = data.fetch_with_torchvision(ns.dataset.split(":", 1)[1], Path("data"))
        return make_args(
            ns.model,
            latent_dim=ns.latent_dim,
            width=ns.width,
            epochs=ns.epochs,
            batch_size=ns.batch_size,
            lr=ns.lr,
            beta=ns.beta,
            dataset=ns.dataset,
            seed=ns.seed,
            split_seed=ns.split_seed,
            test_size=ns.test_size,
            out=ns.out,
            run_dir=ns.run_dir,
            device=ns.device,
            resume=ns.resume,
            log_every=ns.log_every,
            progress=not ns.no_progress,
        )
    except ValueError as err:
        parser.error(str(err))
        raise  # unreachable: parser.error exits


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.resume and not args.resume_path.is_file():
        print(f"error: --resume: no resume state at {args.resume_path}", file=sys.stderr)
        return 2
    try:
        check_outputs(args)
        summary = run(args)
    except objectives.TrainingDiverged as err:
        print(f"error: {err}; stopped. {_last_good(args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted. {_last_good(args)}", file=sys.stderr)
        return 130
    except (ValueError, checkpoints.CheckpointError) as err:
        print(f"error: {err}. {_last_good(args)}", file=sys.stderr)
        return 2
    except (OSError, SafetensorError, MemoryError) as err:  # disk full, I/O, out of memory
        print(f"error: {type(err).__name__}: {err}; stopped. {_last_good(args)}", file=sys.stderr)
        return 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if summary:
        metrics = ", ".join(
            f"{k}={v:.4g}" for k, v in summary["metrics"].items() if isinstance(v, float)
        )
        print(
            f"wrote {args.out} after {summary['epochs']} epochs ({summary['seconds']} s): {metrics}"
        )
    return 0


def _last_good(args: TrainArgs) -> str:
    try:
        epochs = checkpoints.read_tensors(Path(args.out))[1]["summary"]["epochs"]
    except (checkpoints.CheckpointError, KeyError):
        return "No checkpoint was written."
    return f"The last good checkpoint, {args.out} (epoch {epochs}), is kept; --resume continues it."


if __name__ == "__main__":
    sys.exit(main())
