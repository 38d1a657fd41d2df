"""Train the bundled models: ``python -m explorer.train {ae,vae,gan,classifier} [options]``.

The defaults reproduce the checkpoints in ``checkpoints/`` (see its README for the commands).
Each epoch writes, atomically, the checkpoint (``--out``) and a resume state beside it
(``<out>.resume.safetensors``: weights, optimizer moments and RNG states). A metrics JSONL and
a sample grid per epoch go to ``--run-dir`` so the app can follow a run live.

Several GPUs or machines: ``torchrun --nproc_per_node N -m explorer.train vae`` runs
DistributedDataParallel (Li et al., "PyTorch Distributed", VLDB 2020), gloo on CPU, nccl on GPU.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors import SafetensorError
from tqdm import tqdm

from explorer import checkpoints, data, images, likelihood, objectives, trainstate
from explorer.models import build
from explorer.trainargs import CLI_EVAL_K, DEFAULTS, TrainArgs, build_parser, make_args, validate

__all__ = ["DEFAULTS", "TrainArgs", "make_args", "parse_args", "run", "score", "validate"]


ENCODE_BATCH = 1000  # digits per encoder call outside the optimizer steps


class TrainingStopped(RuntimeError):
    """A stop was requested (the app's Stop button)."""


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


@dataclass
class Run:
    """What a run carries from step to step: the model and its optimizers, the data on the
    device, where it stands (epoch, step, seconds) and what it has logged."""

    args: TrainArgs
    model: torch.nn.Module
    optimizers: dict
    shuffle: torch.Generator
    x_train: torch.Tensor
    y_train: torch.Tensor
    held_out: dict  # "val" and "test": (images, labels) on the device
    log: trainstate.MetricsLog | None
    reader: torch.nn.Module | None = None  # GAN: scores each epoch's samples (--val-reader)
    epoch: int = 0
    step: int = 0
    seconds: float = 0.0
    history: list[dict] = field(default_factory=list)


def run(
    args: TrainArgs,
    stop: threading.Event | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> dict:
    """Train to ``args.epochs`` epochs; returns the checkpoint summary."""
    rank, world, device = _setup_distributed(args.device)
    state = _start(args, rank, device)
    trainee = _wrap_ddp(args.model, state.model, device) if world > 1 else state.model
    steps_per_epoch = math.ceil(len(state.x_train) // world / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    summary: dict = {}
    state.model.train()
    while state.epoch < args.epochs:
        began = time.perf_counter()
        order = torch.randperm(len(state.x_train), generator=state.shuffle)
        order = order[: len(order) // world * world][rank::world]  # equal share per rank
        rows = []
        for index in tqdm(
            order.split(args.batch_size),
            desc=f"{args.model} epoch {state.epoch + 1}/{args.epochs}",
            disable=not args.progress or rank != 0,
            leave=False,
        ):
            if stop is not None and stop.is_set():
                raise TrainingStopped(f"stopped during epoch {state.epoch + 1}")
            _set_lr(state.optimizers, args, state.step, total_steps)
            rows.append(_train_step(state, trainee, index, steps_per_epoch))
        state.epoch += 1
        state.seconds += time.perf_counter() - began
        if rank == 0:
            summary = _finish_epoch(state, rows)
            if on_epoch:
                on_epoch(state.history[-1])
        if world > 1:
            dist.barrier()
    if state.log:
        state.log.close()
    return summary


def _start(args: TrainArgs, rank: int, device: torch.device) -> Run:
    """A run at its first step, or where its resume state left it; data on the device."""
    train_set, val_set, test_set = data.load_parts(args.split())
    torch.manual_seed(args.seed + rank)
    model = build(args.model_config()).to(device)
    state = Run(
        args=args,
        model=model,
        optimizers=objectives.make_optimizers(args.model, model, args.lr, args.lr_d),
        shuffle=torch.Generator().manual_seed(args.seed),
        x_train=train_set.images.to(device),
        y_train=train_set.labels.to(device),
        held_out={
            "val": (val_set.images.to(device), val_set.labels.to(device)),
            "test": (test_set.images.to(device), test_set.labels.to(device)),
        },
        log=None,
        reader=checkpoints.load(args.val_reader).model.to(device) if args.val_reader else None,
    )
    if args.resume:
        trainstate.restore(state)
    if rank == 0:
        path = Path(args.run_dir) / "metrics.jsonl"
        state.log = trainstate.MetricsLog(path, append=args.resume)
        state.log.write(trainstate.start_record(args.epochs, state.epoch))  # who trains it
    return state


def _train_step(state: Run, trainee, index: torch.Tensor, epoch_steps: int) -> dict:
    """One optimizer step on the digits at ``index``; logs every ``log_every`` steps."""
    args = state.args
    x = objectives.augment(state.x_train[index], args.shift, args.rotate, args.blur)
    recipe = objectives.GanRecipe(args.gan_loss, args.diffaugment, args.r1, args.ema_decay)
    beta = _beta(args, state.step, epoch_steps)
    try:
        row = objectives.step(
            args.model, trainee, state.optimizers, x, state.y_train[index], beta, recipe
        )
    except objectives.TrainingDiverged as err:
        raise objectives.TrainingDiverged(
            f"{err} at epoch {state.epoch + 1}, step {state.step + 1}"
        ) from err
    state.step += 1
    if state.log and state.step % args.log_every == 0:
        where = {"epoch": state.epoch + 1, "step": state.step, "epochs": args.epochs}
        state.log.write({"type": "step", **where, "epoch_steps": epoch_steps, **row})
    return row


def _set_lr(optimizers: dict, args: TrainArgs, step: int, total: int) -> None:
    """Decay every learning rate to 0 over the run: cosine (Loshchilov & Hutter, "SGDR", ICLR
    2017, without restarts) or linear (as in BigGAN-style GAN recipes' final phase); a function of
    the step alone, so a resumed run continues it exactly. The discriminator's rate (``lr_d``)
    keeps its ratio to the generator's (Heusel et al.'s two time-scale rule)."""
    if args.lr_schedule == "constant":
        return
    progress = min(step, total) / max(total, 1)
    if args.lr_schedule == "cosine":
        factor = 0.5 * (1 + math.cos(math.pi * progress))
    else:
        factor = 1.0 - progress
    for name, optimizer in optimizers.items():
        base = args.lr_d if name == "discriminator" and args.lr_d else args.lr
        for group in optimizer.param_groups:
            group["lr"] = base * factor


def _beta(args: TrainArgs, step: int, steps_per_epoch: int) -> float:
    """The KL weight at this step: β, reached linearly over ``kl_warmup`` epochs (Bowman et al.,
    "Generating Sentences from a Continuous Space", CoNLL 2016; Sønderby et al., "Ladder
    Variational Autoencoders", NeurIPS 2016), which keeps units from collapsing early."""
    if args.kl_warmup <= 0:
        return args.beta
    return args.beta * min(1.0, (step + 1) / (args.kl_warmup * steps_per_epoch))


def _finish_epoch(state: Run, rows: list[dict]) -> dict:
    """Evaluate on validation, log, write samples, checkpoint and resume state (rank 0 only).
    The test digits are scored once, after the last epoch."""
    args, model = state.args, state.model
    if args.model == "ae":  # encoded 1,000 digits at a time: 60,000 at once took 3.6 GB
        with torch.no_grad():
            codes = torch.cat([model.encode(x) for x in state.x_train.split(ENCODE_BATCH)])
            model.set_code_statistics(codes)
    x_val, y_val = state.held_out["val"]
    record = {
        "epoch": state.epoch,
        "step": state.step,
        "seconds": round(state.seconds, 2),
        **objectives.mean_metrics(rows),
        **(objectives.evaluate(args.model, model, x_val, y_val, "val_") if len(x_val) else {}),
        **(objectives.sample_frechet(model, state.reader, x_val) if state.reader else {}),
    }
    state.history.append(record)
    state.log.write({"type": "epoch", **record})
    if args.model != "classifier":
        _write_samples(model, Path(args.run_dir) / "samples" / f"epoch_{state.epoch:03d}.png")
    summary = {
        "train": args.recorded(),
        "split": args.split().to_dict(),
        "epochs": state.epoch,
        "seconds": round(state.seconds, 1),
        "validation": {k: v for k, v in record.items() if k.startswith("val_")},
        "history": [_history_row(r) for r in state.history],
    }
    if state.epoch == args.epochs and args.score_test:
        summary["metrics"], evaluation = test_metrics(args, model, *state.held_out["test"])
        summary.update(evaluation)
        state.log.write({"type": "test", **summary["metrics"]})
    checkpoints.save(Path(args.out), model, summary)
    if args.write_resume:
        trainstate.save_resume(state)
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
    """The command line's TrainArgs: the model's recipe with the given options over it; a bad
    option exits with one line (argparse's usage error)."""
    parser = build_parser()
    options = vars(parser.parse_args(argv))
    model = options.pop("model")
    if options["eval_k"] is None and model == "vae":
        options["eval_k"] = CLI_EVAL_K
    try:
        if (options["dataset"] or "").startswith("torchvision:"):
            name = options["dataset"].split(":", 1)[1]
            options["dataset"] = data.fetch_with_torchvision(name, Path("data"))
        return make_args(model, **options)
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
    except (OSError, SafetensorError, MemoryError, RuntimeError) as err:  # disk full, I/O, memory
        # torch reports a failed allocation as a RuntimeError; its first line says enough.
        detail = (str(err).strip().splitlines() or [""])[0][:300]
        print(
            f"error: {type(err).__name__}: {detail}; stopped. {_last_good(args)}",
            file=sys.stderr,
        )
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
