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
import math
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

from explorer import checkpoints, data, images, likelihood, objectives, trainstate
from explorer.models import ARCHS, DEFAULT_LATENT, KINDS, ModelConfig, build

_AE_VAE_RECIPE = {"shift": 2}
DEFAULTS = {
    # AE and VAE: one recipe, chosen for the VAE on the validation digits (checkpoints/README.md),
    # so that each AE/VAE pair differs only in the objective.
    "ae": {"epochs": 120, "batch_size": 64, "lr": 1e-3, "width": 128, **_AE_VAE_RECIPE},
    "vae": {
        "epochs": 120,
        "batch_size": 64,
        "lr": 1e-3,
        "width": 128,
        **_AE_VAE_RECIPE,
    },
    "gan": {"epochs": 40, "batch_size": 64, "lr": 2e-4, "width": 64},
    "classifier": {
        "epochs": 30,
        "batch_size": 128,
        "lr": 1e-3,
        "width": 128,
        "arch": "conv4",
        "shift": 2,
        "rotate": 10.0,
        "blur": 2.0,
        "lr_schedule": "cosine",
    },
}
LR_SCHEDULES = ("constant", "cosine")
# The command line scores a VAE with 1,000 draws of z per test digit (ELBO noise < 0.05 nats and
# the IWAE bound L_1000); library calls (the app's runs, tests) default to one draw.
CLI_EVAL_K = 1000


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
    arch: str = "conv"
    dataset: str = "mnist"
    seed: int = 0
    test_size: int = data.DEFAULT_TEST_SIZE
    val_size: int = data.DEFAULT_VAL_SIZE
    shift: int = 0  # random whole-pixel shifts of training digits, at most this many pixels
    rotate: float = 0.0  # random rotations of training digits, at most this many degrees
    blur: float = 0.0  # random Gaussian blur of training digits, σ at most this many pixels
    kl_warmup: int = 0  # VAE: epochs over which the KL weight climbs linearly from 0 to beta
    lr_schedule: str = "constant"  # or "cosine": lr decays to 0 over the run
    diffaugment: bool = True  # GAN arch "sn": DiffAugment on what the discriminator sees
    eval_k: int = 0  # VAE: draws of z per test digit for the final ELBO and IWAE (0: one draw)
    score_test: bool = True  # False for runs that choose settings: they never see the test digits
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
        return ModelConfig(self.model, self.latent_dim, self.width, self.arch)

    def split(self) -> data.Split:
        seed = self.seed if self.split_seed is None else self.split_seed
        return data.Split(self.dataset, seed, self.test_size, self.val_size)

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
    for name in ("val_size", "shift", "kl_warmup", "eval_k"):
        if getattr(args, name) < 0:
            raise ValueError(
                f"--{name.replace('_', '-')} must not be negative, got {getattr(args, name)}"
            )
    if not 0 <= args.rotate <= 180:
        raise ValueError(f"--rotate must lie between 0 and 180 degrees, got {args.rotate}")
    if not 0 <= args.blur <= 3:
        raise ValueError(f"--blur must lie between 0 and 3 pixels, got {args.blur}")
    if args.shift > 8:
        raise ValueError(f"--shift must be at most 8 pixels, got {args.shift}")
    if args.eval_k > 100_000:
        raise ValueError(f"--eval-k must be at most 100000, got {args.eval_k}")
    if args.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}")
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
    train_set, val_set, test_set = data.load_parts(args.split())
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
    held_out = {
        "val": (val_set.images.to(device), val_set.labels.to(device)),
        "test": (test_set.images.to(device), test_set.labels.to(device)),
    }
    total_steps = args.epochs * math.ceil(len(x_train) // world / args.batch_size)
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
            _set_lr(optimizers, args, global_step, total_steps)
            x = objectives.augment(x_train[index], args.shift, args.rotate, args.blur)
            try:
                rows.append(
                    objectives.step(
                        args.model,
                        trainee,
                        optimizers,
                        x,
                        y_train[index],
                        _beta(args, global_step, len(batches)),
                        args.diffaugment,
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
                x_train,
                held_out,
                log,
            )
            if on_epoch:
                on_epoch(history[-1])
        if world > 1:
            dist.barrier()
    if log:
        log.close()
    return summary


def _set_lr(optimizers: dict, args: TrainArgs, step: int, total: int) -> None:
    """Cosine decay from ``lr`` to 0 over the run (Loshchilov & Hutter, "SGDR", ICLR 2017,
    without restarts); a function of the step alone, so a resumed run continues it exactly."""
    if args.lr_schedule != "cosine":
        return
    lr = 0.5 * args.lr * (1 + math.cos(math.pi * min(step, total) / max(total, 1)))
    for optimizer in optimizers.values():
        for group in optimizer.param_groups:
            group["lr"] = lr


def _beta(args: TrainArgs, step: int, steps_per_epoch: int) -> float:
    """The KL weight at this step: β, reached linearly over ``kl_warmup`` epochs (Bowman et al.,
    "Generating Sentences from a Continuous Space", CoNLL 2016; Sønderby et al., "Ladder
    Variational Autoencoders", NeurIPS 2016), which keeps units from collapsing early."""
    if args.kl_warmup <= 0:
        return args.beta
    return args.beta * min(1.0, (step + 1) / (args.kl_warmup * steps_per_epoch))


def _finish_epoch(
    args, model, optimizers, shuffle, history, epoch, global_step, seconds, rows, x_train,
    held_out, log,
) -> dict:  # fmt: skip
    """Evaluate on validation, log, write samples, checkpoint and resume state (rank 0 only).
    The test digits are scored once, after the last epoch."""
    if args.model == "ae":
        with torch.no_grad():
            model.set_code_statistics(model.encode(x_train))
    x_val, y_val = held_out["val"]
    record = {
        "epoch": epoch + 1,
        "step": global_step,
        "seconds": round(seconds, 2),
        **objectives.mean_metrics(rows),
        **(objectives.evaluate(args.model, model, x_val, y_val, "val_") if len(x_val) else {}),
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
        "validation": {k: v for k, v in record.items() if k.startswith("val_")},
        "history": [_history_row(r) for r in history],
    }
    if epoch + 1 == args.epochs and args.score_test:
        summary["metrics"], evaluation = test_metrics(args, model, *held_out["test"])
        summary.update(evaluation)
        log.write({"type": "test", **summary["metrics"]})
    checkpoints.save(Path(args.out), model, summary)
    if args.write_resume:
        trainstate.save_resume(
            args, model, optimizers, shuffle, history, epoch + 1, global_step, seconds
        )
    return summary


def test_metrics(args: TrainArgs, model, x: torch.Tensor, y: torch.Tensor) -> tuple[dict, dict]:
    """The held-out numbers of a finished run, and for a VAE evaluated with ``eval_k`` draws the
    per-digit ELBO and IWAE values (explorer.likelihood) that tests/test_bundled.py re-checks."""
    metrics = objectives.evaluate(args.model, model, x, y, "test_")
    if args.model != "vae" or args.eval_k <= 0:
        return metrics, {}
    found = likelihood.estimate(model, x, args.eval_k, seed=args.seed)
    metrics.update(found.summary("test_"))
    per_digit = {
        "elbo": [round(v, 4) for v in found.elbo.tolist()],
        "iwae": [round(v, 4) for v in found.iwae.tolist()],
    }
    return metrics, {"evaluation": {"seed": args.seed, "k": args.eval_k, **per_digit}}


def score(source: Path, out: Path, eval_k: int | None = None) -> dict:
    """Score a run trained with ``score_test=False`` once on its test digits, after its settings
    were chosen on validation, and write it with those numbers to ``out``: the same checkpoint
    a run with ``score_test=True`` would have written (training is deterministic for a seed)."""
    ckpt = checkpoints.load(source)
    summary = dict(ckpt.meta)
    recorded = {k: v for k, v in summary["train"].items() if k in TrainArgs.__dataclass_fields__}
    args = TrainArgs(**{**recorded, "score_test": True, "out": str(out)})
    if eval_k is not None:
        args.eval_k = eval_k
    validate(args)
    _, _, test = data.load_parts(args.split())
    summary["train"] = {**summary["train"], "score_test": True, "eval_k": args.eval_k}
    summary["metrics"], evaluation = test_metrics(args, ckpt.model, test.images, test.labels)
    summary.update(evaluation)
    checkpoints.save(Path(out), ckpt.model, summary)
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
            config=model.config,
            update_ema=model.update_ema,
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
        "--arch",
        choices=ARCHS,
        help="networks: conv (default); mlp, the reference AE/VAE; sn, the GAN with a "
        "spectrally normalised discriminator and an averaged generator; conv4, the classifier "
        "with two VGG blocks",
    )
    parser.add_argument("--shift", type=int, help="random shifts of training digits, pixels")
    parser.add_argument("--rotate", type=float, help="random rotations of training digits, degrees")
    parser.add_argument(
        "--blur", type=float, help="random Gaussian blur of training digits, σ in pixels"
    )
    parser.add_argument("--kl-warmup", type=int, help="VAE: epochs of linear KL warm-up")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES)
    parser.add_argument(
        "--no-diffaugment",
        action="store_true",
        help="GAN arch sn: the discriminator sees the images as they are",
    )
    parser.add_argument(
        "--eval-k",
        type=int,
        help="VAE: draws of z per test digit for the final ELBO and IWAE bound (default 1000)",
    )
    parser.add_argument(
        "--val-size",
        type=int,
        default=data.DEFAULT_VAL_SIZE,
        help="training digits kept aside to choose epochs and settings on (0: none)",
    )
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
    parser.add_argument(
        "--no-test",
        action="store_true",
        help="leave the test digits unscored (for runs that choose settings on validation)",
    )
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
            arch=ns.arch,
            shift=ns.shift,
            rotate=ns.rotate,
            blur=ns.blur,
            kl_warmup=ns.kl_warmup,
            lr_schedule=ns.lr_schedule,
            diffaugment=not ns.no_diffaugment,
            eval_k=CLI_EVAL_K if ns.eval_k is None and ns.model == "vae" else ns.eval_k,
            val_size=ns.val_size,
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
            score_test=not ns.no_test,
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
            f"{k}={v:.4g}"
            for k, v in summary.get("metrics", summary["validation"]).items()
            if isinstance(v, float)
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
