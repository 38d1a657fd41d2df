"""The AE vs VAE protocol's measures, differences and verdicts, on hand-made cases and tiny
models (explorer.protocol)."""

import numpy as np
import pytest
import torch

from explorer import checkpoints, compare, data, latent, protocol, smoothness
from explorer.protocol import Difference


def test_a_verdict_needs_every_combination_on_one_side():
    vae, ae, none = (
        Difference(1, 0.5, 1.5, 1),
        Difference(-1, -2, -0.5, -1),
        Difference(0, -1, 1, 0),
    )
    assert protocol.verdict([vae] * 60) == "robust"
    assert protocol.verdict([ae] * 60) == "reversed"
    assert protocol.verdict([vae] * 59 + [none]) == "mixed"
    assert protocol.verdict([vae] * 30 + [ae] * 30) == "mixed"


def test_paired_differences_take_the_measure_s_direction():
    rng = np.random.default_rng(0)
    ae = rng.normal(0.5, 0.1, 500)
    vae = ae + 0.05
    higher, lower = protocol.BY_KEY["confident"], protocol.BY_KEY["far_share"]
    assert protocol.difference(higher, ae, vae).winner == 1
    assert protocol.difference(lower, ae, vae).winner == -1
    same = protocol.difference(higher, ae, ae + rng.normal(0, 0.01, 500) * 0)
    assert same.winner == 0 and same.value == 0
    assert protocol.difference(higher, ae, vae).value == pytest.approx(0.05)


def test_unpaired_differences_need_apart_intervals():
    kid = protocol.BY_KEY["kid"]  # lower is better
    ae, vae = smoothness.Estimate(5.0, 4.0, 6.0, 1000), smoothness.Estimate(2.0, 1.5, 2.5, 1000)
    found = protocol.difference(kid, ae, vae)
    assert (found.value, found.low, found.high, found.winner) == (-3.0, -4.5, -1.5, 1)
    overlapping = smoothness.Estimate(3.5, 2.0, 4.5, 1000)
    assert protocol.difference(kid, ae, overlapping).winner == 0


def test_path_measures_read_only_the_frames_between_the_ends():
    top = np.array([[1.0, 0.95, 0.5, 0.3, 1.0], [0.2, 0.99, 0.91, 0.95, 0.1]])
    second = np.array([[0.0, 0.03, 0.45, 0.3, 0.0], [0.7, 0.0, 0.05, 0.0, 0.8]])
    arrays = {
        "r:top": top,
        "r:second": second,
        "largest_jump": np.zeros(2),
        "pixel_path": np.ones(2),
    }
    found = protocol.path_measures(arrays, "r")
    assert found["lowest_confidence"].tolist() == [0.3, 0.91]
    assert found["confident_share"].tolist() == pytest.approx([1 / 3, 1.0])
    # frame 2 of pair 0 is a blend (0.5 + 0.45 >= 0.9), frame 3 garbage (0.3 + 0.3 < 0.9)
    assert found["garbage_share"].tolist() == pytest.approx([1 / 3, 0.0])
    assert set(protocol.path_measures(arrays, None)) == {"largest_jump", "pixel_path"}


def test_decimals_are_enough_to_tell_an_interval_s_ends_apart():
    assert protocol.decimals_for(0.61, 0.64) == 2
    assert protocol.decimals_for(0.0001, 0.0004) == 4
    assert f"{0.00021:.{protocol.decimals_for(0.0001, 0.0004)}f}" != f"{0.0001:.4f}"
    assert protocol.decimals_for(5.0, 5.0) == 2


@pytest.mark.slow
def test_path_arrays_in_chunks_agree_with_decoding_every_path_at_once(tiny_runs):
    vae = checkpoints.load(tiny_runs["vae"]).model
    reader = checkpoints.load(tiny_runs["classifier"]).model
    _, test = data.load_split(data.Split("digits", 0, 300))
    codes = vae.encode(test.images).detach()
    pairs = smoothness.random_pairs(test.labels.numpy(), 2 * protocol.STUDY_CHUNK + 7, seed=3)
    arrays = protocol.path_arrays(vae, codes, pairs, {"a": reader})
    lam = latent.lambdas(compare.PATH_FRAMES).reshape(1, -1, 1)
    path = latent.interpolate(
        codes[pairs[:, 0]][:, None], codes[pairs[:, 1]][:, None], lam, "linear"
    )
    assert arrays["codes"].shape == tuple(path.shape)
    with torch.no_grad():
        frames = vae.decode(path.reshape(-1, path.shape[-1]))
        top = compare.probabilities(reader, frames).max(1).values.reshape(len(pairs), -1)
    measures = protocol.path_measures(arrays, "a")
    np.testing.assert_allclose(measures["lowest_confidence"], top[:, 1:-1].min(1).values, atol=1e-6)
    np.testing.assert_allclose(arrays["pixel_path"], _pixel_path(vae, path), atol=1e-5)
    jumps = frames.reshape(len(pairs), compare.PATH_FRAMES, -1).diff(dim=1).abs().mean(2)
    np.testing.assert_allclose(arrays["largest_jump"], jumps.max(1).values, atol=1e-6)


def _pixel_path(model, codes: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        frames = model.decode(codes.reshape(-1, codes.shape[-1])).reshape(*codes.shape[:2], -1)
    return (frames[:, 1:] - frames[:, :-1]).abs().mean(2).sum(1).double().numpy()


@pytest.mark.slow
def test_samples_from_the_codes_themselves_are_covered_and_read_like_real_digits(tiny_runs):
    ae = checkpoints.load(tiny_runs["ae"]).model
    reader = checkpoints.load(tiny_runs["classifier"]).model
    train, test = data.load_split(data.Split("digits", 0, 300))
    ref = protocol.reference(ae, train.images, test.images, {"a": reader})
    own = protocol.sample_arrays(ae, ref.codes[:200], {"a": reader}, ref)
    far = protocol.sample_arrays(ae, ref.codes[:200] + 1e3, {"a": reader}, ref)
    assert own["far_share"].mean() == 0.0 and far["far_share"].mean() == 1.0
    values = protocol.sample_values(own, "a", ref)
    assert set(values) == {"confident", "diversity", "kid"}
    assert isinstance(values["kid"], smoothness.Estimate)
    free = protocol.sample_values(own, None, ref)
    assert set(free) == {"no_stroke", "far_share", "attribute_distance"}
