"""The four networks: AE, VAE, DCGAN and a digit classifier, all for 28x28 digits.

- VAE: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, with the convolutional
  MNIST encoder/decoder of the Keras VAE example (two stride-2 convs, a 128-unit dense layer).
- AE: the same encoder and decoder with one deterministic code, so AE and VAE differ only in the
  objective (Hinton & Salakhutdinov, Science 2006).
- The reference MLP VAE (``arch="mlp"``, width 400, d = 20: 784-400-20, the PyTorch examples'
  vae/main.py after Kingma & Welling's appendix C), which ``bench.quality`` trains with the same
  loop, data and step budget as ours.
- DCGAN: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
  GANs", ICLR 2016, at MNIST size.

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


class Generator(nn.Module):
    """DCGAN generator: z (B, 100) -> image logits (B, 1, 28, 28).

    Batch norm after each hidden layer and N(0, 0.02) initial weights, as Radford et al. (§3)
    recommend; without them the generator saturates to black images within an epoch here.
    """

    def __init__(self, latent_dim: int = 100, width: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 7 * 7 * width),
            nn.BatchNorm1d(7 * 7 * width),
            nn.LeakyReLU(0.2),
            nn.Unflatten(1, (width, 7, 7)),  # (B, w, 7, 7)
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1),  # (B, w, 14, 14)
            nn.BatchNorm2d(width),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1),  # (B, w, 28, 28)
            nn.BatchNorm2d(width),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 1, 7, padding=3),  # (B, 1, 28, 28) logits
        )
        for module in self.modules():
            # A meta model (explorer.checkpoints.load's shape check) has nothing to initialise,
            # and normal_ on a meta tensor imports torch._dynamo: 2 s of a first page view.
            if isinstance(module, nn.Linear | nn.Conv2d | nn.ConvTranspose2d) and not (
                module.weight.is_meta
            ):
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class LiteGenerator(nn.Module):
    """A half-width generator of the DCGAN paper's shape as TensorFlow's DCGAN tutorial lays it
    out for MNIST: z (B, d) -> dense 7·7·2w -> ConvT w (7x7) -> ConvT w/2 (14x14) -> ConvT 1
    (28x28) logits, w = ``width`` (64: 128, 64 and 32 channels). Few channels at full resolution
    keep a CPU step cheap (about 0.14 s against 0.21–0.27 s for :class:`Generator`)."""

    def __init__(self, latent_dim: int = 100, width: int = 64) -> None:
        super().__init__()
        wide, half = 2 * width, max(width // 2, 1)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 7 * 7 * wide, bias=False),
            nn.BatchNorm1d(7 * 7 * wide),
            nn.LeakyReLU(0.2),
            nn.Unflatten(1, (wide, 7, 7)),  # (B, 2w, 7, 7)
            nn.ConvTranspose2d(wide, width, 5, stride=1, padding=2, bias=False),  # (B, w, 7, 7)
            nn.BatchNorm2d(width),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(width, half, 4, stride=2, padding=1, bias=False),  # (B, w/2, 14, 14)
            nn.BatchNorm2d(half),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(half, 1, 4, stride=2, padding=1),  # (B, 1, 28, 28) logits
        )
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.ConvTranspose2d) and not module.weight.is_meta:
                nn.init.normal_(module.weight, 0.0, 0.02)  # (meta: see Generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """DCGAN discriminator: image (B, 1, 28, 28) -> real/fake logit (B,).

    ``spectral=True`` (arch "sn"): every layer spectrally normalised and no dropout (Miyato et
    al., "Spectral Normalization for Generative Adversarial Networks", ICLR 2018), which bounds
    the discriminator's Lipschitz constant and keeps a small-data GAN from oscillating.
    """

    def __init__(self, spectral: bool = False) -> None:
        super().__init__()
        norm = nn.utils.parametrizations.spectral_norm if spectral else (lambda layer: layer)
        drop = (lambda: nn.Identity()) if spectral else (lambda: nn.Dropout(0.4))
        self.net = nn.Sequential(
            norm(nn.Conv2d(1, 64, 3, stride=2, padding=1)),  # (B, 64, 14, 14)
            nn.LeakyReLU(0.2),
            drop(),
            norm(nn.Conv2d(64, 64, 3, stride=2, padding=1)),  # (B, 64, 7, 7)
            nn.LeakyReLU(0.2),
            drop(),
            nn.Flatten(),
            norm(nn.Linear(7 * 7 * 64, 1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class DCGAN(LatentModel):
    """Generator and discriminator together; the app uses the generator only.

    Archs "sn" and "lite" also keep ``generator_ema``, an exponential moving average of the
    generator's weights (Yazıcı et al., "The Unusual Effectiveness of Averaging in GAN Training", ICLR 2019;
    Karras et al. 2018), and decodes with it: the average lies between the oscillations of
    adversarial training and gives cleaner samples than the last step.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        make = LiteGenerator if config.arch == "lite" else Generator
        self.generator = make(config.latent_dim, config.width)
        self.discriminator = Discriminator(spectral=config.arch in AVERAGED_GAN_ARCHS)
        if config.arch in AVERAGED_GAN_ARCHS:
            self.generator_ema = make(config.latent_dim, config.width)
            self.generator_ema.load_state_dict(self.generator.state_dict())
            self.generator_ema.requires_grad_(False)
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update_ema(self, decay: float) -> None:
        """generator_ema <- d · generator_ema + (1 − d) · generator, buffers copied, with
        d = min(decay, (1 + t) / (10 + t)) at update t: early on the average follows the
        generator closely, so it does not carry the random initial weights for ~1/(1 − decay)
        steps (the warm-up of TensorFlow's ExponentialMovingAverage with num_updates)."""
        t = int(self.ema_updates)
        decay = min(decay, (1 + t) / (10 + t))
        self.ema_updates += 1
        for avg, live in zip(
            self.generator_ema.parameters(), self.generator.parameters(), strict=True
        ):
            avg.lerp_(live, 1.0 - decay)
        for avg, live in zip(self.generator_ema.buffers(), self.generator.buffers(), strict=True):
            avg.copy_(live)

    @property
    def decoder(self) -> nn.Module:
        """The network that turns codes into images."""
        return self.generator_ema if self.config.arch in AVERAGED_GAN_ARCHS else self.generator

    @property
    def has_encoder(self) -> bool:
        return False

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("a DCGAN has no encoder: start from a seed instead")

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)


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
    classes = {"ae": AutoEncoder, "vae": VAE, "gan": DCGAN, "classifier": Classifier}
    return classes[config.kind](config)
