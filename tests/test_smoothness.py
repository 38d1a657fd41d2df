"""The smoothness suite and the AE-vs-VAE computations against hand-made cases."""

import math

import numpy as np
import pytest
import torch

from explorer import compare, protocol, smoothness, urlstate


def identity(z: torch.Tensor) -> torch.Tensor:
    return z


def test_path_length_of_a_line_is_its_squared_length():
    # A decoder that is the identity on a line, read by identity features: every ε-step moves
    # the image by ε·(a − b), so each sample is ‖a − b‖².
    a = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    b = torch.tensor([[0.0, 4.0], [0.0, -1.0]], dtype=torch.float64)
    lengths = smoothness.path_lengths(identity, identity, a, b, "linear", eps=1e-4)
    assert lengths == pytest.approx([25.0, 4.0], rel=1e-6)
    one_by_one = smoothness.path_lengths(identity, identity, a, b, "linear", eps=1e-4, batch=1)
    assert one_by_one == pytest.approx([25.0, 4.0], rel=1e-6)
    # Features that scale the image by 3 scale the squared distance by 9.
    scaled = smoothness.path_lengths(identity, lambda x: 3 * x, a, b, "linear", eps=1e-4)
    assert scaled == pytest.approx([225.0, 36.0], rel=1e-6)


def test_slerp_path_length_is_the_squared_angle():
    # Between orthogonal unit vectors slerp moves at the angular speed Ω = π/2.
    gen = torch.Generator().manual_seed(0)
    a = torch.tensor([[1.0, 0.0]] * 50, dtype=torch.float64)
    b = torch.tensor([[0.0, 1.0]] * 50, dtype=torch.float64)
    lengths = smoothness.path_lengths(identity, identity, a, b, "spherical", 1e-4, gen)
    assert lengths == pytest.approx(np.full(50, (math.pi / 2) ** 2), rel=1e-4)


def test_robust_mean_drops_the_extreme_percentiles():
    values = np.r_[np.ones(300), 1e6, -1e6]
    assert smoothness.robust_mean(values) == pytest.approx(1.0)
    skewed = np.r_[np.ones(300), 1e6]
    assert smoothness.robust_mean(skewed) == pytest.approx(1.0)
    assert np.mean(skewed) > 3000  # the plain mean is dominated by one sample


def test_bootstrap_interval_covers_the_mean_with_the_right_width():
    values = np.random.default_rng(1).normal(5.0, 2.0, size=400)
    est = smoothness.bootstrap(values)
    assert est.value == pytest.approx(values.mean())
    assert est.low < 5.0 < est.high
    expected = 2 * 1.96 * 2.0 / math.sqrt(400)
    assert est.high - est.low == pytest.approx(expected, rel=0.2)
    constant = smoothness.bootstrap(np.full(10, 0.3))
    assert (constant.low, constant.value, constant.high) == pytest.approx((0.3, 0.3, 0.3))
    with pytest.raises(ValueError):
        smoothness.bootstrap(np.array([]))


def test_estimates_compare_by_their_intervals():
    a, b = smoothness.Estimate(1.0, 0.9, 1.1, 10), smoothness.Estimate(1.3, 1.15, 1.4, 10)
    c = smoothness.Estimate(1.2, 1.05, 1.3, 10)
    assert a.separated_from(b) and b.separated_from(a)
    assert not a.separated_from(c)
    assert smoothness.Estimate(0.2, 0.1, 0.3, 5).excludes(0.0)
    assert not smoothness.Estimate(0.2, -0.1, 0.3, 5).excludes(0.0)
    assert a.text() == "1.00 [0.90, 1.10]"
    assert smoothness.Estimate(0.5, 0.42, 0.61, 3).text(percent=True) == "50 % [42, 61]"


def _one_hot(confidences: list[float]) -> torch.Tensor:
    """Probabilities (1, steps, 10) whose top probability per frame is the given value."""
    rows = []
    for c in confidences:
        row = torch.full((10,), (1 - c) / 9)
        row[3] = c
        rows.append(row)
    return torch.stack(rows).unsqueeze(0)


def test_a_classifier_that_is_always_sure_gives_share_one():
    frames = torch.zeros(2, 11, 1, 28, 28)
    probs = torch.cat([_one_hot([1.0] * 11), _one_hot([1.0] * 11)])
    measures = smoothness.path_measures(frames, probs)
    assert measures.confident_share.tolist() == [1.0, 1.0]
    assert measures.lowest_confidence.tolist() == pytest.approx([1.0, 1.0])
    assert measures.largest_jump.tolist() == [0.0, 0.0]


def test_a_hole_between_the_endpoints_lowers_minimum_and_share():
    frames = torch.zeros(1, 11, 1, 28, 28)
    frames[0, 6:] = 1.0  # the image flips completely between frames 5 and 6
    conf = [0.3] + [0.95] * 4 + [0.5] + [0.95] * 4 + [0.2]  # the endpoints do not count
    measures = smoothness.path_measures(frames, _one_hot(conf))
    assert measures.lowest_confidence[0] == pytest.approx(0.5)
    assert measures.confident_share[0] == pytest.approx(8 / 9)
    assert measures.largest_jump[0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        smoothness.path_measures(frames[:, :2], _one_hot([1.0, 1.0]))


def test_entropy_and_confident_samples():
    sure, unsure = torch.eye(10)[:1], torch.full((1, 10), 0.1)
    assert smoothness.entropy(torch.cat([sure, unsure])) == pytest.approx([0.0, math.log(10)])
    assert smoothness.confident(torch.cat([sure, unsure])).tolist() == [1.0, 0.0]


def test_digit_diversity_is_the_entropy_of_the_digits_read():
    assert smoothness.digit_diversity(np.arange(10).repeat(7)) == pytest.approx(math.log(10))
    assert smoothness.digit_diversity(np.full(50, 4)) == pytest.approx(0.0)
    assert smoothness.digit_diversity(np.array([1, 1, 2, 2])) == pytest.approx(math.log(2))


def test_random_pairs_are_seeded_distinct_and_of_different_digits():
    labels = np.repeat(np.arange(10), 5)
    pairs = smoothness.random_pairs(labels, 100, seed=3)
    assert pairs.shape == (100, 2)
    assert all(labels[a] != labels[b] for a, b in pairs)
    assert len({tuple(p) for p in pairs}) == 100
    assert (pairs == smoothness.random_pairs(labels, 100, seed=3)).all()
    assert not (pairs == smoothness.random_pairs(labels, 100, seed=4)).all()
    with pytest.raises(ValueError, match="only 2 pairs"):
        smoothness.random_pairs(np.array([0, 1]), 3)


class LineDecoder(torch.nn.Module):
    """A 'model' whose image is a constant grey at the level of z0 (clipped to [0, 1])."""

    latent_dim = 2

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z[:, :1].clamp(0, 1).reshape(-1, 1, 1, 1).expand(-1, 1, 28, 28)


class GreyClassifier(torch.nn.Module):
    """Reads an image as digit 1 with confidence equal to its mean grey level (at least 0.1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = x.flatten(1).mean(1).clamp(0.1, 1.0)
        probs = torch.stack([(1 - level) / 9] + [level] + [(1 - level) / 9] * 8, dim=1)
        return probs.log()


def test_path_arrays_run_a_to_b_and_measure_each_path():
    codes = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.45, 0.0]])
    pairs = np.array([[0, 1], [0, 2]])
    arrays = protocol.path_arrays(LineDecoder(), codes, pairs, {"grey": GreyClassifier()}, 11)
    assert arrays["codes"].shape == (2, 11, 2)
    assert arrays["codes"][0, 0].tolist() == [1.0, 0.0]
    assert arrays["codes"][0, -1].tolist() == [0.0, 0.0]
    # Path 0 fades 1 → 0 in steps of 0.1 (interior confidences 0.9 … 0.1); path 1 fades
    # 1 → 0.45 in steps of 0.055 (interior 0.945, 0.89, …, 0.505).
    m = protocol.path_measures(arrays, "grey")
    assert m["lowest_confidence"] == pytest.approx([0.1, 0.505], rel=1e-5)
    assert m["confident_share"][1] == pytest.approx(1 / 9)  # only 0.945 reaches 0.9
    assert arrays["largest_jump"] == pytest.approx([0.1, 0.055], rel=1e-5)
    assert arrays["pixel_path"] == pytest.approx([1.0, 0.55], rel=1e-5)
    assert (arrays["grey:labels"][1] == 1).all()  # path 0 ends on a tie (all classes at 0.1)


def test_presets_pick_the_largest_gaps_the_median_one_and_count_how_common_they_are():
    ae, vae = np.array([0.2, 0.9, 0.5, 0.6, 0.7]), np.array([0.9, 0.3, 0.55, 0.65, 0.72])
    found = compare.presets(vae - ae)
    assert found["hole"].index == 0 and found["hole"].share == pytest.approx(1 / 5)
    assert found["ae_wins"].index == 1 and found["ae_wins"].share == pytest.approx(1 / 5)
    # gaps 0.7, -0.6, 0.05, 0.05, 0.02: the median is one of the 0.05s, 3 of 5 within 0.1
    assert found["typical"].index in (2, 3) and found["typical"].share == pytest.approx(3 / 5)


def test_atlas_window_holds_every_code_and_the_prior_box():
    low, high = compare.atlas_window(np.array([[-10.0, 2.0]]), np.array([[1.0, 0.5]]))
    assert low == pytest.approx(-10.5) and high == pytest.approx(10.5)
    low, high = compare.atlas_window(np.array([[0.1, 0.2]]))
    assert (low, high) == pytest.approx((-3.15, 3.15))


def test_plane_grid_reads_like_a_plot():
    grid = compare.plane_grid(-1.0, 1.0, 3)
    assert grid[0].tolist() == [-1.0, 1.0]  # top left
    assert grid[2].tolist() == [1.0, 1.0]  # top right
    assert grid[-1].tolist() == [1.0, -1.0]  # bottom right


def test_point_from_selection_takes_the_last_click():
    event = {"selection": {"points": [{"x": 1, "y": 2}, {"x": -0.5, "y": 3.25}]}}
    assert compare.point_from_selection(event) == (-0.5, 3.25)
    assert compare.point_from_selection({"selection": {"points": []}}) is None
    assert compare.point_from_selection(None) is None


FIELDS = [
    urlstate.Field("view", "view", "atlas", urlstate.choice(["atlas", "pairs"])),
    urlstate.Field("n", "pairs", 200, urlstate.integer(20, 1000)),
    urlstate.Field("z", "z", None, urlstate.floats(2, -100, 100), urlstate.dump_floats),
]


def test_url_state_round_trips_and_refuses_bad_values():
    values = {"view": "pairs", "n": 200, "z": [1.5, -2.0]}
    params = urlstate.encode(FIELDS, values)
    assert params == {"view": "pairs", "z": "1.5,-2"}  # the default n stays out of the link
    decoded, notices = urlstate.decode(FIELDS, params)
    assert decoded == values and notices == []
    bad = {"view": "holes", "pairs": "5", "z": "nan,1"}
    decoded, notices = urlstate.decode(FIELDS, bad)
    assert decoded == {"view": "atlas", "n": 200, "z": None}
    assert len(notices) == 3 and str(notices[0]).startswith("view=holes ignored (not one of")
    assert notices[0] == urlstate.Notice("view", "holes", "not one of atlas, pairs")
    # Nothing of a value reaches a reason, and a value is cut to 80 characters.
    _, (long,) = urlstate.decode(FIELDS, {"pairs": "9" * 60_000})
    assert long.reason == "not a number" and len(long.value) == urlstate.ECHO_CHARS


def test_atlas_windows_share_a_scale_hold_each_models_codes_or_the_prior():
    codes = {"ae": np.array([[30.0, -2.0]]), "vae": np.array([[2.5, 1.0]])}
    shared = compare.atlas_windows(codes, "codes")
    assert shared["ae"] == shared["vae"] == compare.atlas_window(*codes.values())
    assert shared["vae"][1] >= 30.0
    own = compare.atlas_windows(codes, "own")
    assert own["ae"][1] >= 30.0 and own["vae"] == compare.atlas_window(codes["vae"])
    assert own["vae"][1] < 4.0  # the VAE's codes and the prior box fill its plane
    assert compare.atlas_windows(codes, "prior") == {n: (-3.0, 3.0) for n in codes}
    with pytest.raises(ValueError, match="unknown atlas window"):
        compare.atlas_windows(codes, "zoom")
