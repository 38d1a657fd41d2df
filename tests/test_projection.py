"""t-SNE and PCA maps, the disk cache and placing new points."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from explorer import projection


@pytest.fixture(scope="module")
def clusters():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (4, 8))
    labels = np.repeat(np.arange(4), 60)
    return centres[labels] + rng.normal(0, 0.5, (240, 8)), labels, centres


def test_pca_map_matches_sklearn_up_to_sign(clusters):
    codes, _, _ = clusters
    ours = projection.pca_map(codes)
    theirs = PCA(2).fit_transform(codes)
    for k in range(2):
        assert abs(np.corrcoef(ours[:, k], theirs[:, k])[0, 1]) == pytest.approx(1.0, abs=1e-9)


def _nearest_label_accuracy(coords, labels):
    dist = ((coords[:, None] - coords[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    return (labels[dist.argmin(1)] == labels).mean()


@pytest.mark.slow
def test_tsne_keeps_clusters_apart_and_reports_progress(clusters):
    codes, labels, _ = clusters
    seen = []
    coords = projection.tsne_map(codes, perplexity=20, progress=seen.append)
    assert coords.shape == (240, 2)
    assert _nearest_label_accuracy(coords, labels) > 0.98
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)


@pytest.mark.slow
def test_cache_returns_the_same_map_without_recomputing(clusters, tmp_path, monkeypatch):
    codes, _, _ = clusters
    params = projection.MapParams("tsne", 20.0)
    first, cached = projection.cached_map(codes, params, "sha", tmp_path)
    assert not cached

    def fail(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(projection, "compute", fail)
    second, cached = projection.cached_map(codes, params, "sha", tmp_path)
    assert cached and np.array_equal(first, second)
    with pytest.raises(AssertionError, match="recomputed"):
        projection.cached_map(codes, projection.MapParams("tsne", 25.0), "sha", tmp_path)


@pytest.mark.slow
def test_placed_points_land_in_their_cluster(clusters):
    codes, labels, centres = clusters
    params = projection.MapParams("tsne", 20.0)
    coords = projection.compute(codes, params)
    placed = projection.place(codes, coords, centres, params)
    for k in range(4):
        nearest = ((coords - placed[k]) ** 2).sum(1).argmin()
        assert labels[nearest] == k
    pca_placed = projection.place(
        codes, projection.pca_map(codes), codes[:3], projection.MapParams("pca")
    )
    np.testing.assert_allclose(pca_placed, projection.pca_map(codes)[:3], atol=1e-9)


@pytest.mark.slow
def test_tsne_of_bundled_vae_codes_keeps_digits_together():
    """The map's settings (fewer iterations, exact neighbours) keep the structure of the codes:
    nearest-neighbour digit accuracy on the map is close to that in the 16-d latent space."""
    from explorer import checkpoints, data, views
    from tests.conftest import BUNDLED

    ckpt = checkpoints.load(BUNDLED / "vae.safetensors")
    _, test = data.load_split(data.Split(**ckpt.meta["split"]))
    codes = views.encode(ckpt.model, test.images).numpy()
    labels = test.labels.numpy()
    coords = projection.tsne_map(codes)
    in_latent = _nearest_label_accuracy(codes, labels)
    on_map = _nearest_label_accuracy(coords, labels)
    assert in_latent > 0.8 and on_map > in_latent - 0.05, (in_latent, on_map)
