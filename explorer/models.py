"""The four networks: AE, VAE, DCGAN and a digit classifier, all for 28x28 digits.

- VAE: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, with the convolutional
  MNIST encoder/decoder of the Keras VAE example (two stride-2 convs, a 128-unit dense layer).
- AE: the same encoder and decoder with one deterministic code, so AE and VAE differ only in the
  objective (Hinton & Salakhutdinov, Science 2006).
- The reference MLP VAE (``arch="mlp"``, width 400, d = 20: 784-400-20, the PyTorch examples'
  vae/main.py after Kingma & Welling's appendix C), which ``bench.quality`` trains with the same
  loop, data and step budget as ours.
- DCGAN: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
  GANs", ICLR 2016, at MNIST size, in :mod:`explorer.gan`.

Every latent model offers the one interface the app uses: ``encode(x) -> z``, ``decode(z) ->
images in [0, 1]``, ``sample(n, generator) -> z`` and ``latent_dim``. Each model is rebuilt from
its :class:`ModelConfig` alone, so a checkpoint needs nothing but that config and its weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

KINDS = ("ae", "vae", "gan", "classifier")
ARCHS = ("conv", "mlp", "sn", "lite", "conv4")  # see ModelConfig.arch
AVERAGED_GAN_ARCHS = ("sn", "lite")  # GANs with a spectrally normalised D and an averaged G
DEFAULT_LATENT = {"ae": 16, "vae": 16, "gan": 100, "classifier": 0}


@dataclass(frozen=True)
class ModelConfig:
    """Constructor arguments of a model; stored in its checkpoint."""

    kind: str
    latent_dim: int = 16
    width: int = 128  # dense units (AE/VAE/classifier) or generator channels (GAN)
    # AE/VAE: "conv" (ours) or "mlp" (the reference). GAN: "conv" (Radford et al.'s DCGAN),
    # "sn" (spectrally normalised discriminator, and the generator's moving average decodes) or
    # "lite" (the same with a half-width generator). Classifier: "conv" (two conv layers),
    # "conv4" (two blocks of two, with batch norm) or "mlp" (two dense layers: the second reader).
    arch: str = "conv"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        allowed = {
            "ae": ("conv", "mlp"),
            "vae": ("conv", "mlp"),
            "gan": ("conv", "sn", "lite"),
            "classifier": ("conv", "conv4", "mlp"),
        }
        if self.arch not in allowed.get(self.kind, ("conv",)):
            choices = " or ".join(allowed.get(self.kind, ("conv",)))
            raise ValueError(f"arch {self.arch!r} is not one for a {self.kind}: choose {choices}")
        if self.kind != "classifier" and self.latent_dim < 1:
            raise ValueError(f"latent dim must be at least 1, got {self.latent_dim}")
        if self.width < 1:
            raise ValueError(f"width must be at least 1, got {self.width}")

    def to_dict(self) -> dict:
        out = asdict(self)
        if self.arch == "conv":  # the default: older checkpoints have no such key
            del out["arch"]
        return out


class Encoder(nn.Module):
    """x (B, 1, 28, 28) -> features (B, width) through two stride-2 convolutions."""

    def __init__(self, width: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1),  # (B, 32, 14, 14)
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # (B, 64, 7, 7)
            nn.ReLU(),
            nn.Flatten(),  # (B, 3136)
            nn.Linear(7 * 7 * 64, width),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    """z (B, d) -> Bernoulli logits (B, 1, 28, 28); sigmoid of them is the image."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 7 * 7 * 64),
            nn.ReLU(),
            nn.Unflatten(1, (64, 7, 7)),  # (B, 64, 7, 7)
            nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1),  # (B, 64, 14, 14)
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1),  # (B, 32, 28, 28)
            nn.ReLU(),
            nn.Conv2d(32, 1, 3, stride=1, padding=1),  # (B, 1, 28, 28) logits
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MlpEncoder(nn.Module):
    """x (B, 1, 28, 28) -> features (B, width): one ReLU layer, the reference VAE's encoder."""

    def __init__(self, width: int = 400) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, width), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MlpDecoder(nn.Module):
    """z (B, d) -> Bernoulli logits (B, 1, 28, 28) through one ReLU layer of ``width`` units."""

    def __init__(self, latent_dim: int, width: int = 400) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, width),
            nn.ReLU(),
            nn.Linear(width, 28 * 28),
            nn.Unflatten(1, (1, 28, 28)),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def _encoder_decoder(config: ModelConfig) -> tuple[nn.Module, nn.Module]:
    if config.arch == "mlp":
        return MlpEncoder(config.width), MlpDecoder(config.latent_dim, config.width)
    return Encoder(config.width), Decoder(config.latent_dim)


class LatentModel(nn.Module):
    """Shared interface of AE, VAE and GAN. Subclasses set ``config`` and implement the rest."""

    config: ModelConfig

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def has_encoder(self) -> bool:
        return True

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (B, 1, 28, 28) in [0, 1] for codes (B, d)."""
        return torch.sigmoid(self.decode_logits(z))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes from the model's prior (B, d)."""
        return torch.randn(n, self.latent_dim, generator=generator)


class AutoEncoder(LatentModel):
    """Deterministic code z = f(x); decoded by the same decoder as the VAE.

    An AE has no prior. Buffers hold statistics of its training codes (set after training):
    the slider range (1st and 99th percentile per dimension) and a Gaussian fitted to the codes,
    which is what ``sample`` draws from.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder, self.decoder = _encoder_decoder(config)
        self.to_code = nn.Linear(config.width, config.latent_dim)
        d = config.latent_dim
        self.register_buffer("code_mean", torch.zeros(d))
        self.register_buffer("code_std", torch.ones(d))
        self.register_buffer("code_low", torch.full((d,), -3.0))
        self.register_buffer("code_high", torch.full((d,), 3.0))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_code(self.encoder(x))

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_logits(self.encode(x))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn(n, self.latent_dim, generator=generator)
        return self.code_mean + self.code_std * eps

    @torch.no_grad()
    def set_code_statistics(self, codes: torch.Tensor) -> None:
        """Record mean, std and 1st/99th percentiles of training codes (N, d)."""
        self.code_mean.copy_(codes.mean(0))
        self.code_std.copy_(codes.std(0).clamp_min(1e-6))
        self.code_low.copy_(torch.quantile(codes, 0.01, dim=0))
        self.code_high.copy_(torch.quantile(codes, 0.99, dim=0))


class VAE(LatentModel):
    """q(z|x) = N(μ, diag σ²), p(z) = N(0, I), p(x|z) Bernoulli (Kingma & Welling 2014)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder, self.decoder = _encoder_decoder(config)
        self.to_mu = nn.Linear(config.width, config.latent_dim)
        self.to_logvar = nn.Linear(config.width, config.latent_dim)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²) of q(z|x), each (B, d)."""
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean μ: the code the app shows for a digit."""
        return self.posterior(x)[0]

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = μ + σ·ε with ε ~ N(0, I): the reparameterization trick (Kingma & Welling, §2.4)."""
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits, μ, log σ²) for one reparameterized sample per image."""
        mu, logvar = self.posterior(x)
        return self.decode_logits(self.reparameterize(mu, logvar, generator)), mu, logvar


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    """Two 3x3 convolutions with batch norm and ReLU, then 2x2 max pooling (Simonyan &
    Zisserman's VGG block; Ioffe & Szegedy's batch norm)."""
    layers: list[nn.Module] = []
    for a, b in ((c_in, c_out), (c_out, c_out)):
        layers += [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
    return [*layers, nn.MaxPool2d(2)]


class Classifier(nn.Module):
    """A digit reader; its penultimate layer (``width`` units) feeds the Fréchet distance and
    KID. Arch "conv4" has two VGG blocks (32 and 64 channels) instead of two single
    convolutions: more capacity where few training digits leave the small one short. Arch
    "mlp" is a different family for a second, independent reader: two dense layers on the
    pixels (784-512-width), with no notion of neighbouring pixels."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        if config.arch == "mlp":
            self.body = nn.Sequential(
                nn.Flatten(),  # (B, 784)
                nn.Linear(28 * 28, 512),
                nn.ReLU(),
                nn.Dropout(0.2),
                nn.Linear(512, config.width),
                nn.ReLU(),
            )
            self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(config.width, 10))
            return
        if config.arch == "conv4":
            self.body = nn.Sequential(
                *_conv_block(1, 32),  # (B, 32, 14, 14)
                *_conv_block(32, 64),  # (B, 64, 7, 7)
                nn.Flatten(),
                nn.Linear(7 * 7 * 64, config.width),
                nn.ReLU(),
            )
            self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(config.width, 10))
            return
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),  # (B, 32, 28, 28)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1),  # (B, 64, 14, 14)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(),
            nn.Linear(7 * 7 * 64, config.width),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(config.width, 10))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (B, width)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 10)."""
        return self.head(self.body(x))


def build(config: ModelConfig) -> nn.Module:
    """A freshly initialised model of the configured kind."""
    from explorer.gan import DCGAN  # the GAN's module builds on this one

    classes = {"ae": AutoEncoder, "vae": VAE, "gan": DCGAN, "classifier": Classifier}
    return classes[config.kind](config)
