"""bench.quality's bookkeeping: which kept runs count as finished, and the README tables."""

import pytest

from bench import quality


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
    settings = {"arch": "conv", "batch_size": batch, "shift": 2, "rotate": 0.0, "kl_warmup": 0,
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
    results = {
        "ours": _model(32, [-101.0, -101.5, -102.0]),
        "reference": _model(128, [-110.0, -111.0, -112.0]),
        "iwae_gain": {"mean": 9.5, "min": 9.0, "max": 10.0},
        "classifier_test_accuracy": 0.99,
    }
    text = quality.markdown(results)
    rows = [line for line in text.splitlines() if line.startswith("| ours")]
    assert rows[0].startswith("| ours (chosen) | 32 |") and rows[1].startswith("| ours | 999 |")
    assert "| log-likelihood, IWAE L_1000 (nats) | -101.5 [-102.0, -101.0] |" in text
    assert "**9.5** nats [9.0, 10.0]" in text and "**99.0 %**" in text


@pytest.mark.slow
def test_frechet_only_re_measures_the_bundled_models_and_keeps_the_comparison(
    tmp_path, monkeypatch
):
    import json

    from bench import common

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    with pytest.raises(SystemExit, match="run `python -m bench.quality` in full first"):
        quality.refresh_frechet(seeds=False, workers=1)
    earlier = {"iwae_gain": {"mean": 5.4}, "frechet": {"vae samples": -1.0}}
    (tmp_path / "quality.json").write_text(json.dumps(earlier))
    monkeypatch.setattr(quality, "markdown", lambda results: "")  # the tables are tested above
    quality.refresh_frechet(seeds=False, workers=1)
    written = json.loads((tmp_path / "quality.json").read_text())
    assert written["iwae_gain"] == {"mean": 5.4}  # the VAE comparison is kept as it was
    f = written["frechet"]
    # Real digits are closer to the test digits than any model's samples, and the VAE's prior
    # samples closer than the DCGAN's (bench/results/quality.json: 23, 138 and 234).
    assert 0 < f["train digits (floor)"] < f["vae samples"] < f["gan samples, mean"]
    assert f["gan samples, per seed"] == [f["gan samples, mean"]]  # the bundled DCGAN alone
