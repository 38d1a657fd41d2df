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


# Kernel distances: the unbiased MMD², its variance and KID.


def test_unbiased_mmd2_matches_a_double_loop_over_pairs():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 4)), rng.normal(1.0, 1.0, size=(5, 4))
    k = metrics.polynomial_kernel
    t = torch.as_tensor
    kxx, kyy, kxy = k(t(x), t(x)).numpy(), k(t(y), t(y)).numpy(), k(t(x), t(y)).numpy()
    assert kxx[0, 1] == pytest.approx((x[0] @ x[1] / 4 + 1) ** 3)
    expected = (
        sum(kxx[i, j] for i in range(3) for j in range(3) if i != j) / 6
        + sum(kyy[i, j] for i in range(5) for j in range(5) if i != j) / 20
        - 2 * kxy.sum() / 15
    )
    value = metrics.unbiased_mmd2(
        kxx.sum() - np.trace(kxx), kyy.sum() - np.trace(kyy), kxy.sum(), 3, 5
    )
    assert value == pytest.approx(expected, rel=1e-12)


def test_mmd2_variance_matches_the_spread_over_repeated_experiments():
    rng = np.random.default_rng(0)
    k = metrics.polynomial_kernel
    values, estimates = [], []
    for _ in range(400):
        x = torch.as_tensor(rng.normal(size=(100, 4)))
        y = torch.as_tensor(rng.normal(0.3, 1.0, size=(100, 4)))
        kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
        xx, yy = float(kxx.sum() - kxx.trace()), float(kyy.sum() - kyy.trace())
        values.append(metrics.unbiased_mmd2(xx, yy, float(kxy.sum()), 100, 100))
        estimates.append(metrics.mmd2_variance(kxx, kyy, kxy))
    # 400 experiments pin the variance to about ±7 %; the estimate is a plug-in, so ±25 %.
    assert np.mean(estimates) == pytest.approx(np.var(values, ddof=1), rel=0.25)


def test_kid_of_one_distribution_is_about_zero_and_of_two_clearly_positive():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
    shifted = rng.normal(0.3, 1.0, size=(1000, 16))
    same = metrics.kernel_inception_distance(a, a)
    assert same.subsets == 1 and same.subset_size == 1000  # every draw would be the same
    # A set against itself is not two samples: the x–y sum then holds each k(x, x), and the
    # estimate is exactly (2/n)(mean k(x, x') − mean k(x, x)), a little below 0.
    k = metrics.polynomial_kernel(torch.as_tensor(a), torch.as_tensor(a)).numpy()
    off = (k.sum() - np.trace(k)) / (1000 * 999)
    assert same.value == pytest.approx(2 / 1000 * (off - np.trace(k) / 1000), rel=1e-9)
    fresh = metrics.kernel_inception_distance(a, b)
    assert abs(fresh.value) < 3 * fresh.standard_error
    apart = metrics.kernel_inception_distance(a, shifted)
    assert apart.value > 10 * apart.standard_error
    assert apart.estimate().excludes(0.0) and not fresh.estimate().excludes(0.0)
    assert apart.estimate().separated_from(fresh.estimate())


def test_kid_draws_subsets_of_the_smaller_set_size():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 8)), rng.normal(0.5, 1.0, size=(500, 8))
    kid = metrics.kernel_inception_distance(a, b, subsets=20)
    assert (kid.subsets, kid.subset_size) == (20, 200)
    assert kid.spread > 0.0  # the draws of b differ
    again = metrics.kernel_inception_distance(a, b, subsets=20)
    assert again == kid  # seeded
    estimate = kid.estimate()
    assert estimate.low < kid.value < estimate.high
    assert estimate.high - kid.value == pytest.approx(1.959964 * kid.standard_error, rel=1e-5)


# A reader's hole: a blend of two digits or garbage.


def test_readings_split_unconfident_images_into_blends_and_garbage():
    from explorer import smoothness

    probs = torch.tensor(
        [
            [0.95, 0.05, 0.0, 0.0],  # confident
            [0.9, 0.05, 0.05, 0.0],  # confident: the top class reaches 0.9
            [0.6, 0.3, 0.1, 0.0],  # blend: 0.6 + 0.3 reaches 0.9 (in floating point, just)
            [0.5, 0.0, 0.45, 0.05],  # blend: the second class need not be next to the first
            [0.5, 0.3, 0.2, 0.0],  # garbage: the top two make 0.8
            [0.25, 0.25, 0.25, 0.25],  # garbage
        ],
        dtype=torch.float64,
    )
    found = smoothness.readings(probs)
    assert found.tolist() == ["confident", "confident", "blend", "blend", "garbage", "garbage"]
    shares = smoothness.reading_shares(probs)
    assert shares == pytest.approx({"confident": 2 / 6, "blend": 2 / 6, "garbage": 2 / 6})
    assert smoothness.readings(probs, threshold=0.75).tolist()[4] == "blend"
    assert smoothness.readings(probs.float()).tolist() == found.tolist()
