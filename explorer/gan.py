"""The DCGAN (Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
Convolutional GANs", ICLR 2016) at MNIST size, and its lite variant with a spectrally normalised
discriminator (Miyato et al., ICLR 2018) and an averaged generator: the generator, the
discriminator and the :class:`DCGAN` latent model that holds both (:func:`explorer.models.build`
makes it from a :class:`~explorer.models.ModelConfig`).
"""

from __future__ import annotations

import torch
from torch import nn

from explorer.models import AVERAGED_GAN_ARCHS, LatentModel, ModelConfig


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
    generator's weights (Yazıcı et al., "The Unusual Effectiveness of Averaging in GAN
    Training", ICLR 2019; Karras et al. 2018), and decodes with it: the average lies between the
    oscillations of adversarial training and gives cleaner samples than the last step.
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
