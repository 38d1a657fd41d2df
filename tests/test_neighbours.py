"""Nearest neighbours against brute force, the Jaccard overlap on hand-made sets, and
trustworthiness against scikit-learn's."""

from math import comb

import numpy as np
import pytest
from sklearn.manifold import trustworthiness as sk_trustworthiness

from explorer import neighbours


def _brute_force(codes: np.ndarray, k: int) -> np.ndarray:
    """Every pairwise distance, each row sorted by (distance, index), itself left out."""
    d = np.linalg.norm(codes[:, None, :] - codes[None, :, :], axis=-1)
    np.fill_diagonal(d, np.inf)
    return np.array([np.lexsort((np.arange(len(row)), row))[:k] for row in d])


@pytest.mark.parametrize("n, d, k", [(40, 2, 5), (600, 16, 10), (300, 100, 10)])
def test_knn_equals_brute_force(n, d, k):
    codes = np.random.default_rng(n).normal(size=(n, d)).astype(np.float32)
    np.testing.assert_array_equal(neighbours.knn(codes, k), _brute_force(codes, k))


def test_knn_with_ties_and_duplicates_orders_by_index():
    # A grid has many equal distances; two identical codes are each other's nearest.
    grid = np.array([(x, y) for x in range(6) for y in range(6)], dtype=np.float64)
    codes = np.vstack([grid, grid[7:8]])  # row 36 duplicates row 7
    found = neighbours.knn(codes, 6)
    np.testing.assert_array_equal(found, _brute_force(codes, 6))
    assert found[36, 0] == 7 and found[7, 0] == 36
    assert 7 not in found[7] and 36 not in found[36]  # never its own neighbour


def test_nearest_gives_one_rows_neighbours_and_their_distances():
    codes = np.random.default_rng(1).normal(size=(200, 16))
    index, distance = neighbours.nearest(codes, 17, k=8)
    np.testing.assert_array_equal(index, _brute_force(codes, 8)[17])
    np.testing.assert_allclose(distance, np.linalg.norm(codes[index] - codes[17], axis=1))
    assert np.all(np.diff(distance) >= 0)


def test_knn_refuses_a_k_that_cannot_be():
    with pytest.raises(ValueError, match="k must be between 1 and 4"):
        neighbours.knn(np.zeros((5, 2)), 5)


def test_jaccard_on_hand_made_sets():
    a = np.array([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [9, 8, 7, 6]])
    b = np.array([[4, 3, 2, 1], [1, 2, 5, 6], [5, 6, 7, 8], [6, 7, 8, 9]])
    # identical sets in any order: 1; two shared of six in the union: 1/3; none: 0
    np.testing.assert_allclose(neighbours.jaccard(a, b), [1.0, 2 / 6, 0.0, 1.0])
    with pytest.raises(ValueError, match="cover 4 and 1"):
        neighbours.jaccard(a, b[:1])


def test_overlap_of_a_space_with_itself_is_one_and_with_noise_near_chance():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(400, 8))
    np.testing.assert_allclose(neighbours.overlap(codes, codes * 3.0 + 1.0), 1.0)  # same ranks
    unrelated = neighbours.overlap(codes, rng.normal(size=(400, 8)))
    chance = neighbours.chance_overlap(400)
    assert abs(unrelated.mean() - chance) < 0.01, (unrelated.mean(), chance)
    # chance: s shared of k = 10 among the 399 others is hypergeometric, J = s / (20 - s)
    p = [comb(10, s) * comb(389, 10 - s) / comb(399, 10) for s in range(11)]
    assert chance == pytest.approx(sum(p[s] * s / (20 - s) for s in range(11)), rel=1e-9)


@pytest.mark.parametrize("n, k", [(120, 5), (400, 10)])
def test_blocked_trustworthiness_equals_sklearn(n, k):
    rng = np.random.default_rng(n)
    codes = rng.normal(size=(n, 16))
    coords = codes[:, :2] + 0.3 * rng.normal(size=(n, 2))  # a map that keeps some structure
    expected = sk_trustworthiness(codes, coords, n_neighbors=k)
    assert neighbours.blocked_trustworthiness(codes, coords, k) == pytest.approx(
        expected, abs=1e-12
    )
    assert neighbours.trustworthiness(codes, coords, k) == pytest.approx(expected, abs=1e-12)
    assert 0.5 < expected < 1.0


def test_trustworthiness_is_one_for_a_map_that_keeps_every_neighbour():
    codes = np.random.default_rng(3).normal(size=(3000, 2))  # above SKLEARN_MAX: the blocked path
    assert neighbours.trustworthiness(codes, codes * 2.0) == pytest.approx(1.0)
    shuffled = np.random.default_rng(4).permutation(codes)
    assert neighbours.trustworthiness(codes, shuffled) < 0.6
