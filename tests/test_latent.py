"""Interpolation, traversals, the manifold grid and slider spaces."""

import math

import numpy as np
import pytest
import torch

from explorer import latent
from explorer.models import AutoEncoder, ModelConfig, build


def test_lerp_endpoints_and_midpoint():
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([-3.0, 0.0])
    assert torch.equal(latent.lerp(a, b, 1.0), a)
    assert torch.equal(latent.lerp(a, b, 0.0), b)
    assert latent.lerp(a, b, 0.25).tolist() == [-2.0, 0.5]


def test_slerp_matches_the_reference_formula_and_keeps_the_norm():
    a, b = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    for lam in (0.0, 0.3, 1.0):
        got = latent.slerp(a, b, lam)
        # On the unit circle, slerp is rotation by (1 − λ)·90° from a towards b.
        angle = (1 - lam) * math.pi / 2
        torch.testing.assert_close(got, torch.tensor([math.cos(angle), math.sin(angle), 0.0]))
        assert got.norm().item() == pytest.approx(1.0)
    parallel = latent.slerp(a, 2 * a, 0.5)
    torch.testing.assert_close(parallel, 1.5 * a)  # falls back to lerp


def test_path_runs_from_a_to_b():
    a, b = torch.randn(4), torch.randn(4)
    for mode in latent.MODES:
        codes = latent.path(a, b, 5, mode)
        assert codes.shape == (5, 4)
        torch.testing.assert_close(codes[0], a)
        torch.testing.assert_close(codes[-1], b)
    with pytest.raises(ValueError, match="unknown interpolation mode 'cubic'"):
        latent.path(a, b, 5, "cubic")
    with pytest.raises(ValueError, match="at least 2 frames"):
        latent.path(a, b, 1)


def test_traversal_changes_only_one_coordinate():
    z = torch.arange(4.0)
    codes = latent.traversal(z, 2, torch.tensor([-1.0, 0.0, 1.0]))
    assert codes[:, 2].tolist() == [-1.0, 0.0, 1.0]
    assert torch.equal(codes[:, [0, 1, 3]], z[[0, 1, 3]].repeat(3, 1))


def test_manifold_grid_sits_at_normal_quantiles():
    from scipy.stats import norm

    grid = latent.manifold_grid(5)
    assert grid.shape == (25, 2)
    expected = norm.ppf(np.linspace(0.05, 0.95, 5))
    np.testing.assert_allclose(grid[:5, 0].numpy(), expected, atol=1e-5)  # z1 along the top row
    np.testing.assert_allclose(grid[::5, 1].numpy(), expected[::-1], atol=1e-5)  # z2 falls down
    assert grid[12].abs().max().item() < 1e-6  # the centre cell is the prior's mode


def test_slider_spaces_per_model_kind():
    vae = latent.slider_space(build(ModelConfig("vae", 3)))
    assert vae.low.tolist() == [-3.0] * 3 and vae.high.tolist() == [3.0] * 3
    ae = AutoEncoder(ModelConfig("ae", 2))
    ae.set_code_statistics(torch.tensor([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0]]))
    space = latent.slider_space(ae)
    assert space.low.tolist() == pytest.approx([0.02, 10.2]) and space.high[
        1
    ].item() == pytest.approx(29.8)
    gan = latent.slider_space(build(ModelConfig("gan", 10, 8)), n_directions=4)
    assert gan.basis.shape == (4, 10) and gan.labels[0] == "PC1"
    torch.testing.assert_close(gan.basis @ gan.basis.T, torch.eye(4), atol=1e-5, rtol=0)
    z = torch.randn(10)
    coeffs = gan.from_code(z)
    torch.testing.assert_close(gan.from_code(gan.to_code(coeffs)), coeffs, atol=1e-5, rtol=0)


def test_principal_directions_find_the_dominant_axis():
    gen = torch.Generator().manual_seed(0)
    codes = torch.randn(2000, 3, generator=gen) * torch.tensor([0.1, 5.0, 0.1])
    _, directions, std = latent.principal_directions(codes, 1)
    assert abs(directions[0, 1].item()) == pytest.approx(1.0, abs=1e-3)
    assert std[0].item() == pytest.approx(5.0, rel=0.05)


def test_slider_bounds_sit_on_the_step_grid_so_no_step_rounds_away():
    ae = AutoEncoder(ModelConfig("ae", 1))
    ae.set_code_statistics(torch.linspace(-1.8561, 2.3437, 101).unsqueeze(1))
    space = latent.slider_space(ae)
    low = float(space.low[0])
    assert low == pytest.approx(-1.82, abs=1e-6)  # the 1st percentile, -1.8141, floored to the grid
    # One step up from the minimum rounds to a different value than the minimum itself.
    assert round(low + 0.01, 2) != round(low, 2)
    assert float(space.high[0]) * 100 == pytest.approx(round(float(space.high[0]) * 100), abs=1e-3)


def test_square_grid_is_even_in_z_like_the_pad_that_indexes_it():
    # The pad picks the cell linearly in z (live_control.js: frameIndex), so its sprite must be
    # decoded at evenly spaced z, row-major, top row at the highest z1.
    grid = latent.square_grid(3, -3.0, 3.0)
    assert grid.tolist() == [
        [-3.0, 3.0], [0.0, 3.0], [3.0, 3.0],
        [-3.0, 0.0], [0.0, 0.0], [3.0, 0.0],
        [-3.0, -3.0], [0.0, -3.0], [3.0, -3.0],
    ]  # fmt: skip
