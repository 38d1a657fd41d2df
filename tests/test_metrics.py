"""Smoothness, classifier confidence and the Fréchet distance against closed forms."""

import numpy as np
import pytest
import torch

from explorer import metrics
from explorer.models import ModelConfig, build


def test_frame_changes_max_and_mean():
    frames = torch.zeros(3, 1, 28, 28)
    frames[1, 0, 0, 0] = 0.5
    frames[2] = 1.0
    max_change, mean_change = metrics.frame_changes(frames)
    assert max_change.tolist() == [0.5, 1.0]
    assert mean_change[0].item() == pytest.approx(0.5 / 784)
    assert mean_change[1].item() == pytest.approx((783 + 0.5) / 784)


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (20000, 3))
    b = rng.normal([1.0, 0.0, 2.0], [2.0, 1.0, 1.0], (20000, 3))
    # Diagonal covariances: ‖Δμ‖² + Σ(σa − σb)² = 5 + 1 = 6.
    assert metrics.frechet_distance(a, b) == pytest.approx(6.0, rel=0.03)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_classifier_confidence_is_the_top_softmax_probability():
    clf = build(ModelConfig("classifier", 0, 16)).eval()
    x = torch.rand(4, 1, 28, 28)
    labels, confidence = metrics.classifier_confidence(clf, x)
    probs = torch.softmax(clf(x), 1)
    assert torch.equal(labels, probs.argmax(1))
    torch.testing.assert_close(confidence, probs.max(1).values)
    assert metrics.classifier_features(clf, x).shape == (4, 16)


def test_frechet_distance_survives_dead_feature_units():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 8)), rng.normal(1.0, 1.0, size=(500, 8))
    a[:, 3] = b[:, 3] = 0.0  # a ReLU unit that never fires: singular covariances
    value = metrics.frechet_distance(a, b)
    assert np.isfinite(value) and value == pytest.approx(7.0, rel=0.15)  # 7 live dims, Δμ = 1 each


def test_decoded_accuracy_reads_reconstructions_of_labelled_digits():
    from torch import nn

    class Identity(nn.Module):  # reconstructs every digit exactly
        def encode(self, x):
            return x

        def decode(self, z):
            return z

    class Blank(Identity):  # reconstructs every digit as an empty image
        def decode(self, z):
            return torch.zeros_like(z)

    class ByRow(nn.Module):  # "reads" the digit from the row of its brightest pixel
        def forward(self, x):
            rows = x[:, 0].sum(2)
            return torch.nn.functional.one_hot(rows.argmax(1) % 10, 10).float() + 1e-3

    labels = torch.arange(10)
    images = torch.zeros(10, 1, 28, 28)
    images[labels, 0, labels, :] = 1.0  # digit k: a line on row k
    assert metrics.decoded_accuracy(ByRow(), Identity(), images, labels) == 1.0
    # A blank reconstruction is read as row 0 (argmax of ties): right only for digit 0.
    assert metrics.decoded_accuracy(ByRow(), Blank(), images, labels) == pytest.approx(0.1)
