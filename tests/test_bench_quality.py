"""bench.quality's bookkeeping: which kept runs count as finished, and the README tables."""

import pytest

from bench import quality, quality_tables


def test_a_run_cut_off_mid_way_is_not_reused():
    wanted = {"epochs": 59, "score_test": True}
    assert quality._finished({"epochs": 59, "metrics": {"test_elbo": -100.0}}, wanted)
    assert not quality._finished({"epochs": 19}, wanted)  # the last good epoch of a cut-off run
    assert not quality._finished({"epochs": 59}, wanted)  # trained, never scored on test
    assert quality._finished({"epochs": 60}, {"epochs": 60, "score_test": False})


def test_run_names_differ_in_every_setting_that_differs():
    base = {"arch": "conv", "batch_size": 32, "shift": 2, "rotate": 0.0, "kl_warmup": 0,
            "lr_schedule": "constant"}  # fmt: skip
    names = {quality.run_name(base, 0, 60, False)}
    for key, value in (("arch", "mlp"), ("batch_size", 64), ("shift", 0), ("rotate", 10.0),
                       ("kl_warmup", 10), ("lr_schedule", "cosine")):  # fmt: skip
        names.add(quality.run_name({**base, key: value}, 0, 60, False))
    names |= {quality.run_name(base, 1, 60, False), quality.run_name(base, 0, 59, False),
              quality.run_name(base, 0, 60, True)}  # fmt: skip
    assert len(names) == 10


def _model(batch: int, iwae: list[float]) -> dict:
    settings = {"arch": "mlp", "batch_size": batch, "shift": 2, "rotate": 0.0, "kl_warmup": 0,
                "lr_schedule": "constant"}  # fmt: skip
    spread = {"mean": sum(iwae) / 3, "min": min(iwae), "max": max(iwae)}
    return {
        "settings": settings,
        "selection": [
            {**settings, "best_epoch": 50, "best_step": 6250, "best_val_elbo": -108.0},
            {
                **settings,
                "batch_size": 999,
                "best_epoch": 9,
                "best_step": 9,
                "best_val_elbo": -120.0,
            },
        ],
        "runs": [{"test_elbo_noise": 0.01}] * 3,
        **{k: spread for k in ("test_iwae", "test_elbo", "train_elbo", "overfit_gap")},
    }


def test_markdown_marks_the_chosen_candidate_and_quotes_the_paired_gain():
    one = {"frechet": 30.0, "kid": 0.5, "confident": 0.9}
    results = {
        "ours": _model(64, [-101.0, -101.5, -102.0]),
        "reference": _model(128, [-110.0, -111.0, -112.0]),
        "iwae_gain": {"mean": 9.5, "min": 9.0, "max": 10.0},
        "readers": {"classifier": {"val": 0.993, "test": 0.99}},
        "samples": {
            "classifier": {
                "floor": [one],
                **{
                    m: [one, {**one, "frechet": 40.0}, {**one, "frechet": 50.0}]
                    for m in ("gan", "vae", "ae", "vae2d", "ae2d")
                },
            }
        },
    }
    text = quality_tables.markdown(results)
    rows = [line for line in text.splitlines() if line.startswith("| reference")]
    assert rows[0].startswith("| reference (chosen) | 128 |")
    assert rows[1].startswith("| reference | 999 |")
    assert "| log-likelihood, IWAE L_1000 (nats) | -101.5 [-102.0, -101.0] |" in text
    assert "**9.5** nats [9.0, 10.0]" in text
    assert "| classifier | 99.3 % | 99.0 % |" in text
    assert "| DCGAN | 40.0 (30, 40, 50) | 0.50 | 0.90 |" in text
    assert "| 500 training digits (the floor) | 30.0 | 0.50 | 0.90 |" in text


@pytest.mark.slow
def test_samples_only_re_measures_the_bundled_models_and_keeps_the_comparison(
    tmp_path, monkeypatch
):
    import json

    from bench import common

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    with pytest.raises(SystemExit, match="run `python -m bench.quality` in full first"):
        quality.main(["--samples-only"])
    (tmp_path / "quality.json").write_text(json.dumps({"iwae_gain": {"mean": 5.4}}))
    monkeypatch.setattr(quality, "markdown", lambda results: "")  # the tables are tested above
    monkeypatch.setattr(quality, "SEEDS", (0,))
    quality.main(["--samples-only"])
    written = json.loads((tmp_path / "quality.json").read_text())
    assert written["iwae_gain"] == {"mean": 5.4}  # the VAE comparison is kept as it was
    table = written["samples"]["classifier"]
    # Real digits are closer to the test digits than any model's samples, by both measures,
    # and a reader reads more of them as a digit.
    for model in quality.SAMPLED:
        assert table["floor"][0]["frechet"] < table[model][0]["frechet"]
        assert table["floor"][0]["kid"] < table[model][0]["kid"]
    assert 0.9 < written["readers"]["classifier"]["test"] <= 1.0


def test_the_gan_recipe_table_reads_each_curve_at_the_same_steps(tmp_path):
    import json

    from bench import gan_recipes

    log = tmp_path / "metrics.jsonl"
    rows = [{"type": "step", "step": 10}]
    rows += [{"type": "epoch", "step": 133 * e, "val_frechet": 1000.0 / e} for e in range(1, 9)]
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n{half a line")
    points = gan_recipes.curve(log)
    assert points[0] == (133, 1000.0) and len(points) == 8
    assert gan_recipes.at(points, 500) == 1000.0 / 3  # the last epoch at or before step 500
    assert gan_recipes.at(points, 100) is None and gan_recipes.at(points, 4000) is None
    table = gan_recipes.markdown({"steps": [500, 1000], "curves": {"base": points, "ttur": []}})
    assert "| the feasibility recipe: hinge loss, lr 2e-4 constant | 333 | 143 |" in table
    assert "two time scales" not in table  # a recipe that did not run has no row
