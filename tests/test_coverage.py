"""Prior coverage and the Gaussian MMD on point sets whose answers are known."""

import math

import numpy as np
import pytest
import torch

from explorer import compare, coverage


def gaussian(n: int, d: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_a_lattice_is_spaced_by_its_step_and_its_midpoints_are_covered():
    codes = compare.plane_grid(-3.0, 3.0, 13)  # step 0.5
    spacing = coverage.code_spacing(codes)
    assert spacing.unit == pytest.approx(0.5)
    assert spacing.far_radius == pytest.approx(1.0)  # every code's neighbour is one step away
    midpoints = compare.plane_grid(-2.75, 2.75, 12)  # the centres of the lattice's squares
    cover = coverage.coverage(codes, midpoints, spacing)
    np.testing.assert_allclose(cover.distance, math.sqrt(0.5))  # half a diagonal, in steps
    assert cover.far_share() == 0.0
    outside = torch.tensor([[4.0, 0.0], [0.0, -3.25], [10.0, 10.0]])
    cover = coverage.coverage(codes, outside, spacing)
    np.testing.assert_allclose(cover.distance, [2.0, 0.5, math.hypot(14, 14)])
    assert cover.far.tolist() == [True, False, True]


@pytest.mark.parametrize("d", [2, 16])
def test_samples_from_the_codes_are_covered_and_shifted_ones_are_not(d):
    codes = gaussian(3000, d, seed=0, scale=3.0)
    spacing = coverage.code_spacing(codes)
    own = coverage.coverage(codes, codes[::3], spacing)
    assert own.distance.max() < 1e-6 and own.far_share() == 0.0  # 0 up to the tree's rounding
    shifted = coverage.coverage(codes, codes[::3] + 40.0, spacing)  # far outside the cloud
    assert shifted.far.all()
    assert shifted.median_distance() > 5 * spacing.far_radius


@pytest.mark.parametrize("d", [2, 16])
def test_fresh_samples_from_the_codes_distribution_are_far_about_one_percent_of_the_time(d):
    codes = gaussian(4000, d, seed=1)
    cover = coverage.coverage(codes, gaussian(4000, d, seed=2))
    # A fresh sample's nearest-code distance is distributed like a code's leave-one-out one,
    # so about 1 − 0.99 of them are beyond its 99th percentile (binomial sd: 0.16 %).
    assert 0.005 < cover.far_share() < 0.02
    assert 0.85 < cover.median_distance() < 1.2


def test_the_prior_inside_a_ring_of_codes_is_a_hole():
    # An AE-like layout: codes on a ring of radius 8, none near the origin where N(0, I) lives.
    angle = torch.rand(4000, generator=torch.Generator().manual_seed(0)) * 2 * math.pi
    ring = 8.0 * torch.stack([angle.cos(), angle.sin()], 1) + 0.3 * gaussian(4000, 2, 1)
    cover = coverage.coverage(ring, gaussian(1000, 2, 2))
    assert cover.far_share() > 0.99
    filled = coverage.coverage(gaussian(4000, 2, 3), gaussian(1000, 2, 2))
    assert filled.far_share() < 0.03


def test_gaussian_mmd_matches_the_closed_form_for_shifted_gaussians():
    # X ~ N(0, I₂), Y ~ N(μ, I₂), k = exp(−‖x − y‖²/2σ²), σ = 1: per dimension E k(x, x') =
    # σ/√(σ² + 2), so MMD² = 2 (σ²/(σ² + 2)) (1 − exp(−‖μ‖²/2(σ² + 2))) = 2/3 (1 − e^(−2/3)).
    # With exp(−‖x − y‖²/σ²) instead it would be 0.22; the estimate's sd at n = 3000 is 4 %.
    x, y = gaussian(3000, 2, 0), gaussian(3000, 2, 1) + torch.tensor([2.0, 0.0])
    expected = 2 / 3 * (1 - math.exp(-2 / 3))
    result = coverage.gaussian_mmd2(x, y, bandwidth=1.0)
    assert result.value == pytest.approx(expected, rel=0.12)
    assert result.bandwidth == 1.0


def test_gaussian_mmd_is_about_zero_for_one_distribution_and_grows_with_a_shift():
    x = gaussian(1000, 16, 0)
    same = coverage.gaussian_mmd2(x, x)
    # A set against itself: exactly (2/n)(mean k(x, x') − 1), just below 0.
    assert -2 / len(x) < same.value <= 0.0
    fresh = coverage.gaussian_mmd2(x, gaussian(500, 16, 1), same.bandwidth).value
    assert abs(fresh) < 2e-3
    shifted = [
        coverage.gaussian_mmd2(x, gaussian(500, 16, 1) + s, same.bandwidth).value
        for s in (0.25, 0.5, 1.0)
    ]
    assert shifted[0] > 5e-3 and shifted[0] < shifted[1] < shifted[2]


def test_the_median_bandwidth_is_the_median_pairwise_distance():
    # ‖x − x'‖ for x, x' ~ N(0, I₂) is √2 times a χ₂ variable, whose median is √(2 ln 2).
    x, y = gaussian(1500, 2, 0), gaussian(1500, 2, 1)
    assert coverage.median_bandwidth(x, y) == pytest.approx(2 * math.sqrt(math.log(2)), rel=0.03)


def test_bad_points_are_refused_with_one_clear_error():
    codes = gaussian(100, 2, 0)
    with pytest.raises(ValueError, match="d = 3"):
        coverage.coverage(codes, gaussian(10, 3, 1))
    with pytest.raises(ValueError, match="finite"):
        coverage.coverage(codes, torch.full((2, 2), float("nan")))
    with pytest.raises(ValueError, match="spacing is 0"):
        coverage.code_spacing(torch.zeros(10, 2))
    with pytest.raises(ValueError, match="non-empty"):
        coverage.gaussian_mmd2(codes, torch.zeros(0, 2))
