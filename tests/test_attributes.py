"""Attribute directions (explorer/attributes.py), their statistics (bench/attributes.py) and the
attribute view's words (explorer/attribute_views.py), on synthetic data whose answer is known."""

import numpy as np
import pytest
import torch

from bench import attributes as bench
from explorer import attribute_views, attributes, checkpoints, morphometrics
from explorer.smoothness import Estimate

COV = np.array([[4.0, 1.2, 0.0], [1.2, 1.0, 0.3], [0.0, 0.3, 0.25]])  # far from isotropic
WEIGHTS = np.array([0.5, -1.0, 2.0])


def _linear_data(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.multivariate_normal([1.0, -2.0, 0.5], COV, size=n)
    return codes, codes @ WEIGHTS + 3.0 + noise * rng.standard_normal(n)


def test_the_probe_recovers_a_linear_attribute_and_its_held_out_r2():
    codes, y = _linear_data(20_000, 0.5, 0)
    val_codes, val_y = _linear_data(2_000, 0.5, 1)
    probe = attributes.fit_probe(codes, y, val_codes, val_y)
    assert probe.weights == pytest.approx(WEIGHTS, abs=0.02)
    assert probe.predict(np.array([[1.0, -2.0, 0.5]]))[0] == pytest.approx(
        WEIGHTS @ [1.0, -2.0, 0.5] + 3.0, abs=0.02
    )
    # R² = explained / (explained + noise) on held-out data, inside its bootstrap interval.
    test_codes, test_y = _linear_data(3_000, 0.5, 2)
    truth = WEIGHTS @ COV @ WEIGHTS / (WEIGHTS @ COV @ WEIGHTS + 0.25)
    estimate = attributes.r2_estimate(test_y, probe.predict(test_codes), n_boot=300)
    assert estimate.low < truth < estimate.high and estimate.high - estimate.low < 0.05


def test_the_penalty_grows_for_an_attribute_the_codes_do_not_carry():
    rng = np.random.default_rng(3)
    codes, val_codes = rng.standard_normal((200, 12)), rng.standard_normal((200, 12))
    probe = attributes.fit_probe(
        codes, rng.standard_normal(200), val_codes, rng.standard_normal(200)
    )
    assert probe.alpha >= 0.1  # the validation digits prefer a shrunk, near-flat line
    assert attributes.r2(np.arange(5.0), np.arange(5.0)) == 1.0
    assert np.isnan(attributes.r2(np.ones(4), np.zeros(4)))


def test_the_direction_is_sigma_w_and_one_unit_is_one_sd_of_the_codes_along_it():
    step, per_unit, code_sd = attributes.direction(WEIGHTS, COV)
    u = COV @ WEIGHTS / np.linalg.norm(COV @ WEIGHTS)
    assert step / np.linalg.norm(step) == pytest.approx(u)
    assert code_sd == pytest.approx(np.sqrt(u @ COV @ u)) and np.linalg.norm(step) == pytest.approx(
        code_sd
    )
    assert per_unit == pytest.approx(WEIGHTS @ step) and per_unit > 0
    # The SD along u, measured on codes drawn from COV.
    codes, _ = _linear_data(50_000, 0.0, 4)
    assert np.std(codes @ u) == pytest.approx(code_sd, rel=0.02)
    # Isotropic codes (a VAE's prior, a GAN's z): the probe's own direction, scaled by their SD.
    step, per_unit, code_sd = attributes.direction(WEIGHTS, 4.0 * np.eye(3))
    assert step == pytest.approx(2.0 * WEIGHTS / np.linalg.norm(WEIGHTS))
    assert per_unit == pytest.approx(2.0 * np.linalg.norm(WEIGHTS)) and code_sd == pytest.approx(2)
    # A flat probe has no direction (and asks for nothing, rather than for infinity).
    step, per_unit, code_sd = attributes.direction(np.zeros(3), COV)
    assert not step.any() and per_unit == 0.0 == code_sd


def _parts(n: int = 3000, d: int = 5, seed: int = 0) -> tuple[attributes.Parts, np.ndarray]:
    """Six attributes, each a known linear function of Gaussian codes plus a little noise."""
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((d, len(attributes.NAMES)))
    mix = rng.standard_normal((d, d)) * np.linspace(3, 0.3, d)  # anisotropic codes

    def part(k: int) -> tuple[np.ndarray, np.ndarray]:
        codes = rng.standard_normal((k, d)) @ mix
        return codes, codes @ weights + 0.05 * rng.standard_normal((k, len(attributes.NAMES)))

    (a, x), (b, y), (c, z) = part(n), part(500), part(500)
    return attributes.Parts((a, b, c), (x, y, z), "synthetic"), weights


def test_an_edit_moves_the_probes_prediction_by_exactly_the_change_asked():
    parts, weights = _parts()
    found = attributes.fit(parts, "sha", n_boot=100)
    assert found.r2[:, 0] == pytest.approx(np.ones(6), abs=0.01)
    codes = torch.as_tensor(parts.codes[2][:10])
    for j, change in enumerate([30.0, -4.0, 1.5, -2.0, 0.25, 8.0]):
        ask = np.zeros(6)
        ask[j] = change
        moved = (found.edit(codes, ask) - codes).double().numpy()
        assert moved @ weights[:, j] == pytest.approx(np.full(10, change), rel=0.02)
    both = found.edit(codes, [0, 0, 1.5, -2.0, 0, 0]) - found.edit(codes, [0, 0, 1.5, 0, 0, 0])
    assert torch.allclose(both, found.edit(codes, [0, 0, 0, -2.0, 0, 0]) - codes, atol=1e-5)
    # Each slider spans ±3 SDs of the codes along its direction, in attribute units.
    low, high = found.bounds(2)
    assert high == pytest.approx(3 * found.per_unit[2], abs=0.01) and low == -high
    assert found.steps.shape == (6, 5) and found.pool_codes.shape == (3000, 5)


@pytest.mark.slow
def test_directions_are_kept_per_checkpoint_hash_and_reloaded(tmp_path, tiny_runs, monkeypatch):
    ckpt = checkpoints.load(tiny_runs["ae"])
    first = attributes.load_or_fit(ckpt, tmp_path, n_boot=50)
    assert attributes.cache_path(ckpt.sha256, tmp_path).is_file()
    assert list(tmp_path.glob("morpho-*.npy"))  # the training digits' measures, by content
    monkeypatch.setattr(attributes, "fit", lambda *a, **k: pytest.fail("fitted again"))
    again = attributes.load_or_fit(ckpt, tmp_path)
    assert np.array_equal(again.steps, first.steps) and again.source == first.source
    assert "encoded training digits" in first.source
    # A GAN's directions come from its own samples.
    gan = checkpoints.load(tiny_runs["gan"])
    parts = attributes.model_parts(gan)
    assert "samples" in parts.source and parts.codes[0].shape[1] == gan.model.latent_dim


def test_measured_digits_are_cached_by_content(tmp_path):
    images = torch.zeros(3, 1, 28, 28)
    images[:, 0, 6:22, 12:16] = 1.0
    values = attributes.measured(images, tmp_path)
    assert values == pytest.approx(attributes.measure(images), nan_ok=True)
    assert values[0, attributes.NAMES.index("thickness")] == pytest.approx(4.0, abs=0.3)
    stored = next(tmp_path.glob("morpho-*.npy"))
    np.save(stored, np.full((3, 6), 7.0))
    assert (attributes.measured(images, tmp_path) == 7.0).all()  # read back, not measured again
    slant = attributes.table(morphometrics.measure(images))[:, attributes.NAMES.index("slant")]
    assert slant == pytest.approx(np.zeros(3), abs=1.0)  # degrees: upright


def test_samples_are_ordered_by_their_distance_in_sds():
    pool = np.array([[0.0] * 6, [10.0] + [0.0] * 5, [np.nan] * 6, [0.0, 1.0] + [0.0] * 4])
    scale = np.array([10.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # Row 1 is 0.1 SD away in the first attribute and 0.9 in the second; row 3 is 0.9 and 0.2.
    target = np.array([9.0, 0.8, 0, 0, 0, 0])
    assert attributes.closest(target, pool, scale).tolist() == [1, 3, 0, 2]  # no stroke: last


# ---- bench.attributes's statistics --------------------------------------------------------------


def test_gains_and_following_a_request():
    t = np.array([-2.0, -1.0, 1.0, 2.0])
    delta = np.array([0.5 * t, 1.5 * t, [np.nan, -1.0, 1.0, np.nan]])
    assert bench.gains(t, delta) == pytest.approx([0.5, 1.5, 1.0])
    requested = np.tile(2.0 * t, (3, 1))
    slope, r2 = bench.follow(requested, 0.5 * requested)
    assert slope == pytest.approx(0.5) and r2 == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    slope, r2 = bench.follow(requested, requested + rng.standard_normal(requested.shape))
    assert 0 < r2 < 1
    assert np.isnan(bench.follow(requested, np.zeros_like(requested))[0])


def test_summarise_reads_gain_side_effects_and_kept_classes_off_known_edits():
    rng = np.random.default_rng(1)
    t = np.array(bench.REQUESTS)
    n, target, area = 60, bench.NAMES.index("thickness"), bench.NAMES.index("area")
    gain = 0.8 + 0.05 * rng.standard_normal(n)  # each digit's own response
    deltas = np.zeros((n, len(t), 6))
    deltas[:, :, target] = gain[:, None] * t
    deltas[:, :, area] = 10.0 * t  # area follows thickness: 10 px² per unit
    kept = {"a": np.tile([True, True, True, False], (n, 1)), "b": np.ones((n, 4), bool)}
    sd = np.array([0.5, 15, 3, 1, 20.0, 10])  # in the order of NAMES: thickness first
    out = bench.summarise(t, 0.8, deltas, kept, target, sd, n_boot=200)
    assert out["gain"]["value"] == pytest.approx(gain.mean())
    assert out["gain"]["low"] < gain.mean() < out["gain"]["high"]
    assert out["slope"]["value"] == pytest.approx(1.0, abs=0.02) and out["follow_r2"]["value"] > 0.9
    assert (
        out["side"]["area"]["value"] == pytest.approx(10.0) and out["side"]["slant"]["value"] == 0
    )
    assert out["side_sd"]["value"] == pytest.approx(10.0 / 20 / 5)  # only area moves, 0.5 SD
    assert out["kept"]["a"]["value"] == 0.75 and out["kept"]["b"]["value"] == 1.0
    assert out["gain_sd"] == pytest.approx(gain.mean() / 0.5) and out["no_stroke"] == 0.0


def _entry(value: float, width: float = 0.05) -> dict:
    return Estimate(value, value - width, value + width, 100).to_dict()


def test_a_model_wins_only_beyond_every_other_interval():
    def model(r2: float) -> dict:
        return {
            "attributes": {a: {"r2": _entry(r2), "kept": {"c": _entry(r2)}} for a in bench.NAMES}
        }

    models = {"ae": model(0.5), "vae": model(0.8), "gan": model(0.75)}
    assert set(bench.winners(models, "r2").values()) == {None}  # 0.8 ± 0.05 meets 0.75 ± 0.05
    models["gan"] = model(0.6)
    assert set(bench.winners(models, "r2").values()) == {"vae"}
    assert set(bench.winners(models, "kept:c").values()) == {"vae"}


# ---- The attribute view's words -----------------------------------------------------------------


def test_edit_and_request_links_round_trip_and_refuse_bad_names():
    values = attribute_views.parse_edit("thickness:1.5,slant:-10")
    assert values == [1.5, -10.0, 0.0, 0.0, 0.0, 0.0]
    assert attribute_views.dump_edit(values) == "thickness:1.5,slant:-10"
    assert attribute_views.parse_edit("") == [0.0] * 6
    for bad in ("boldness:1", "thickness", "thickness:x", "thickness:nan"):
        with pytest.raises(ValueError):
            attribute_views.parse_edit(bad)
    assert attribute_views.parse_ask("slant") == ("slant", attribute_views.DEFAULT_ASK["slant"])
    assert attribute_views.dump_ask(attribute_views.parse_ask("width:-2")) == "width:-2"


def test_the_readout_says_what_was_asked_and_what_came():
    measured = np.array([[2.0, 10, 12, 19, 100.0, 40], [2.9, 10.5, 13, np.nan, 130.0, 41]])
    text = attribute_views.readout(measured, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines()[2:]}
    assert rows["thickness (px)"] == "| thickness (px) | 2.00 | 2.90 | +1.00 | +0.90 |"
    assert rows["area (px²)"] == "| area (px²) | 100 | 130 | – | +30 |"
    assert "no stroke" in rows["height (px)"]


def test_verdicts_name_the_winner_of_each_measure():
    results = {
        "models": {"vae": {"label": "VAE (d=16)"}},
        "readers": {"classifier": {"label": "Reader A: CNN"}},
        "winners": {
            "r2": dict.fromkeys(bench.NAMES, "vae"),
            "kept:classifier": {**dict.fromkeys(bench.NAMES), "slant": "vae"},
        },
    }
    lines = dict(zip(bench.NAMES, attribute_views.verdicts(results), strict=True))
    assert lines["slant"] == (
        "- **slant**: most decodable: **VAE (d=16)**; keeps Reader A: CNN's class most often: "
        "**VAE (d=16)**"
    )
    results["winners"]["r2"]["area"] = None
    lines = dict(zip(bench.NAMES, attribute_views.verdicts(results), strict=True))
    assert lines["area"] == "- **area**: no model wins beyond the intervals"


class _Bars:
    """A stand-in generator: a vertical bar whose width follows the code's first coordinate."""

    latent_dim = 5

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(z), 1, 28, 28)
        for i, width in enumerate((2 + z[:, 0]).round().clamp(1, 8).int().tolist()):
            out[i, 0, 6:22, 12 : 12 + width] = 1.0
        return out


def test_a_request_and_a_gans_version_of_a_digit():
    parts, _ = _parts(n=400)
    found = attributes.fit(parts, "sha", n_boot=20)
    reads = iter([{"c": (1, 0.99)}, {"c": (7, 0.95)}])
    edited = attribute_views.edit_version(
        _Bars(), found, torch.zeros(1, 5), "thickness", 2.0, lambda image: next(reads)
    )
    assert edited.pair.shape == (2, 1, 28, 28) and edited.measured.shape == (2, 6)
    assert edited.units == pytest.approx(2.0 / found.per_unit[0])
    caption = edited.caption("Bars", "thickness")
    assert caption.startswith("Bars: thickness ") and caption.endswith("; reads 1 → 7")
    assert ("past the ±3" in caption) == (edited.units > 3)
    # The GAN's version: the closest sample, among those the reader reads as the same digit.
    target = found.pool_attributes[7]
    order = attributes.closest(target, found.pool_attributes, found.attribute_sd)
    assert order[0] == 7
    assert torch.equal(
        attribute_views.gan_version(found, target), torch.as_tensor(found.pool_codes[7:8])
    )
    fours = {int(order[150]), int(order[30])}  # read as a 4: the 31st and 151st closest
    calls = []

    def read(codes: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        calls.append(len(codes))
        rows = [int(np.flatnonzero((found.pool_codes == c.numpy()).all(1))[0]) for c in codes]
        return np.array([4 if r in fours else 1 for r in rows]), np.full(len(rows), 0.99)

    chosen = attribute_views.gan_version(found, target, 4, read)
    assert torch.equal(chosen, torch.as_tensor(found.pool_codes[order[30] : order[30] + 1]))
    assert calls == [100]  # read closest first, a hundred at a time, until one is a 4
    nines = attribute_views.gan_version(found, target, 9, read)  # nobody is: the closest
    assert torch.equal(nines, torch.as_tensor(found.pool_codes[7:8]))
    assert calls == [100] * 5  # all 400 samples were read (the limit is 1,000)
