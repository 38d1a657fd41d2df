"""The Latent map's data (explorer/maps.py): point sets, disk caches keyed by checkpoint and
content, trustworthiness and overlap wiring, the sprite sheet and the browser's files, the UMAP
cache round trip (explorer/projection.py), and what the page accepts from a browser."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import (
    data,
    images,
    mapfiles,
    maps,
    morphometrics,
    neighbours,
    projection,
    smoothness,
    views,
)
from explorer.ui import latent_map


def _points(n: int = 30, seed: int = 0) -> maps.Points:
    digits = data.load("digits").subset(np.arange(seed, seed + n))
    return maps.Points(digits.images, digits.labels.numpy(), (("held-out", n),), f"test{n}-{seed}")


def _clusters(n: int = 300, d: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = 6.0 * rng.normal(size=(5, d))
    return (centres[rng.integers(0, 5, n)] + rng.normal(size=(n, d))).astype(np.float32)


def test_all_digits_start_with_the_held_out_ones():
    split = data.Split("digits", 0, 200, 100)
    held, every = maps.points(split, "held_out"), maps.points(split, "all")
    train, val, test = data.load_parts(split)
    assert len(held) == 200 and len(every) == len(train) + len(val) + len(test) == 1797
    assert every.parts == (("held-out", 200), ("validation", 100), ("training", len(train)))
    torch.testing.assert_close(every.images[:200], test.images)  # row r < 200: held-out r
    torch.testing.assert_close(every.images[300:], train.images)
    np.testing.assert_array_equal(held.labels, test.labels.numpy())
    assert every.where(199) == ("held-out", 199) and every.where(250) == ("validation", 50)
    assert every.where(1796) == ("training", len(train) - 1) and every.held_out == 200
    with pytest.raises(IndexError):
        every.where(1797)
    with pytest.raises(ValueError, match="unknown point set"):
        maps.points(split, "some")


def test_codes_are_kept_per_checkpoint_and_points(tiny_runs, tmp_path, monkeypatch):
    from explorer import checkpoints

    ckpt = checkpoints.load(tiny_runs["vae"])
    pts = _points()
    first = maps.codes(ckpt.model, ckpt.sha256, pts, tmp_path)
    np.testing.assert_allclose(first, views.encode(ckpt.model, pts.images).numpy(), atol=1e-6)
    monkeypatch.setattr(views, "encode", lambda *a: pytest.fail("encoded again"))
    np.testing.assert_array_equal(maps.codes(ckpt.model, ckpt.sha256, pts, tmp_path), first)
    assert len(list(tmp_path.glob(f"codes-{ckpt.sha256[:24]}-*.npy"))) == 1


def test_trustworthiness_is_wired_to_the_codes_and_the_map_and_kept(tmp_path, monkeypatch):
    codes = _clusters()
    coords = projection.pca_map(codes)
    value = maps.trustworthiness(codes, coords, tmp_path)
    assert value == pytest.approx(neighbours.trustworthiness(codes, coords, 10))
    shuffled = np.random.default_rng(0).permutation(coords)
    assert maps.trustworthiness(codes, shuffled, tmp_path) < value - 0.2  # another map, not cached
    monkeypatch.setattr(neighbours, "trustworthiness", lambda *a: pytest.fail("computed again"))
    assert maps.trustworthiness(codes, coords, tmp_path) == value


def test_overlap_carries_each_points_jaccard_and_an_interval(tmp_path, monkeypatch):
    a = _clusters(seed=1)
    b = a + 0.5 * np.random.default_rng(2).normal(size=a.shape).astype(np.float32)
    found = maps.overlap(a, b, tmp_path)
    np.testing.assert_allclose(found.values, neighbours.overlap(a, b, 10))
    assert found.mean.value == pytest.approx(found.values.mean())
    assert found.mean == smoothness.bootstrap(found.values, n_boot=2000)
    assert found.mean.low < found.mean.value < found.mean.high and found.mean.n == len(a)
    assert found.chance == pytest.approx(neighbours.chance_overlap(len(a)))
    monkeypatch.setattr(neighbours, "overlap", lambda *x: pytest.fail("computed again"))
    assert maps.overlap(a, b, tmp_path).mean == found.mean


def test_attributes_are_morpho_mnists_with_slant_in_degrees(tmp_path):
    pts = _points(12)
    found = maps.attributes(pts, tmp_path)
    expected = morphometrics.measure(pts.images)
    assert list(found) == list(maps.ATTRIBUTES)
    np.testing.assert_allclose(found["thickness"], expected.thickness)
    np.testing.assert_allclose(found["slant"], np.degrees(expected.slant))
    assert list(tmp_path.glob(f"morpho-map-{pts.digest}-*.npy"))


def test_sprite_sheet_holds_each_digit_at_its_row(tmp_path, monkeypatch):
    monkeypatch.setattr(mapfiles, "STATIC_DIR", tmp_path)
    pts = _points(30, seed=5)
    url = mapfiles.sprite_url(pts)
    assert url.startswith(f"{mapfiles.STATIC_URL}/sprite-{pts.digest}-") and url.endswith(".png")
    sheet = np.asarray(Image.open(tmp_path / url.rsplit("/", 1)[1]))
    cols = mapfiles.sprite_columns(30)
    assert cols == 6 and sheet.shape == (5 * 28, 6 * 28)
    tiles = images.to_uint8(pts.images)
    for row in (0, 7, 29):
        r, c = divmod(row, cols)
        np.testing.assert_array_equal(sheet[28 * r : 28 * r + 28, 28 * c : 28 * c + 28], tiles[row])
    assert mapfiles.sprite_url(pts) == url  # the same content: the same file, not another


def test_browser_files_and_their_fallback_inline(tmp_path, monkeypatch):
    monkeypatch.setattr(mapfiles, "STATIC_DIR", tmp_path)
    pts = _points(4)
    url = mapfiles.points_url(pts, {"slant": np.array([1.234, np.nan, -2.0, 0.5])})
    payload = json.loads((tmp_path / url.rsplit("/", 1)[1]).read_text())
    assert payload["labels"] == pts.labels.tolist() and payload["parts"] == [["held-out", 4]]
    assert payload["attributes"]["slant"] == [1.23, None, -2.0, 0.5]  # no stroke: null
    coords = json.loads(
        (
            tmp_path / mapfiles.coords_url(np.array([[1.0, 2.0], [3.5, -1.0]])).rsplit("/", 1)[1]
        ).read_text()
    )
    assert coords == {"x": [1.0, 3.5], "y": [2.0, -1.0]}
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setattr(mapfiles, "STATIC_DIR", blocked / "maps")  # cannot be made: inline instead
    inline = mapfiles.values_url("overlap", np.array([0.5, 1 / 3]))
    assert inline.startswith("data:application/json;base64,")
    import base64

    assert json.loads(base64.b64decode(inline.split(",", 1)[1])) == {"values": [0.5, 0.333]}


def test_framed_strip_frames_shared_neighbours_in_green():
    pixels = torch.ones(3, 1, 28, 28)
    strip = mapfiles.framed_strip(pixels, [True, False, True], pad=2, scale=1)
    assert strip.shape == (32, 96, 3)
    assert tuple(strip[0, 0]) == (40, 200, 90) and tuple(strip[0, 40]) == (0, 0, 0)
    assert tuple(strip[10, 10]) == (255, 255, 255)
    assert mapfiles.framed_strip(pixels, [False] * 3, scale=3).shape == (96, 288, 3)


def test_trustworthiness_table_reads_one_row_per_set_and_method():
    rows = [
        {"points": "held_out", "n": 500, "method": m, "model": name, "trustworthiness": t}
        for m, t0 in (("tsne", 0.97), ("umap", 0.95))
        for name, t in (("ae", t0), ("vae", t0 - 0.01))
    ]
    text = maps.table(rows)
    assert text.splitlines()[0] == "| points | method | ae | vae |"
    assert "| held-out (500) | UMAP | 0.950 | 0.940 |" in text


def test_a_selection_from_the_browser_is_checked():
    clean = latent_map.clean_selection
    assert clean(
        {"rows": [3, 1, 3, 999, -1, True, "2", 4.0], "pick": 1, "source": "vae", "seq": 2}, 500
    ) == ([3, 1], 1, "vae", 2)
    assert clean({"rows": [], "pick": None, "source": "<b>", "seq": 5}, 10) == ([], None, "", 5)
    assert clean({"rows": [1], "pick": 10, "seq": 1}, 10) == ([1], None, "", 1)  # pick out of range
    for bad in (
        None,
        [],
        {"rows": "1,2", "seq": 1},
        {"rows": [1]},
        {"rows": [1], "seq": True},
        {"rows": [1], "seq": 1, "pick": "3"},
    ):
        assert clean(bad, 10) is None
    assert len(clean({"rows": list(range(10**5)), "seq": 1}, 50)[0]) == 50


@pytest.mark.slow
def test_umap_map_is_cached_and_new_points_land_in_it(tmp_path, monkeypatch):
    codes = _clusters(400, 16)
    params = projection.MapParams("umap", 0.0)
    coords, cached = projection.cached_map(codes, params, "sha", tmp_path)
    assert not cached and coords.shape == (400, 2)
    monkeypatch.setattr(projection, "compute", lambda *a, **k: pytest.fail("recomputed"))
    again, cached = projection.cached_map(codes, params, "sha", tmp_path)
    assert cached and np.array_equal(again, coords)  # plain .npy, read back exactly
    assert not list(tmp_path.glob("*.pkl")) and all(p.suffix == ".npy" for p in tmp_path.iterdir())
    # Placing: a fitted UMAP lives in memory only; without one (a new server) it is refitted.
    projection._REDUCERS.clear()
    placed = projection.place(codes, coords, codes[:20] + 0.01, params)
    span = np.ptp(coords, axis=0).max()
    assert np.abs(placed - coords[:20]).max() < 0.1 * span  # each lands by its own code
    projection._REDUCERS.clear()
    np.testing.assert_array_equal(
        projection.place(codes, coords, codes[:20] + 0.01, params), placed
    )
    # ...into the map on the screen: a refit's own layout is never used
    shifted = coords + 100.0
    projection._REDUCERS.clear()
    moved = projection.place(codes, shifted, codes[:20] + 0.01, params)
    # The same placement, shifted: UMAP's float32 steps round differently 100 units away, so a
    # few points drift by a few % of the map (6 % with numba 0.68); the refit's own layout would
    # put every point 100 units (4 spans) off.
    error = np.abs(moved - (placed + 100.0)).max(axis=1)
    assert np.median(error) < 0.01 * span and error.max() < 0.1 * span
