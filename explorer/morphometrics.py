"""Morpho-MNIST's six shape measures of handwritten digits, for a batch at once, no classifier.

Castro, Tan, Kainz, Konukoglu & Glocker, "Morpho-MNIST: Quantitative Assessment and Diagnostics
for Representation Learning", JMLR 20(178), 2019, and their code (github.com/dccastro/
Morpho-MNIST, ``morphomnist/morpho.py`` and ``measure.py``), which this follows step by step:

1. Upsample ×4 (``skimage.transform.pyramid_expand``: cubic spline, then a Gaussian of σ = 4/3
   px) and binarise at half intensity: the ink.
2. **area**: the ink's area (px²). **length**: the length of its medial axis
   (``skimage.morphology.medial_axis``), a step between 4-neighbours counting 1 and between
   diagonal neighbours √2 (px). **thickness**: twice the mean distance from the medial axis to the
   background, the distance transform on the axis (px).
3. **slant**: arctan(−μ11 / μ02) from the upsampled image's central moments, in radians; positive
   when the digit's top leans to the right, like italics.
4. **width**, **height**: the sides of the bounding parallelogram of the slant-corrected digit,
   leaving out 1 % of the intensity on each side (px).

All in pixels of the 28×28 frame. Two properties of their measures that tests pin: the distance
transform counts to the nearest background pixel's centre, so a straight stroke's thickness is its
width or a quarter pixel more (an even or odd number of upsampled rows); and where two rows are
equally central, the medial axis breaks the tie at random and zigzags, so a straight stroke can
measure up to 20 % longer (on MNIST digits about 1.4 % more than a raster-order tie-break gives).

Where this departs from their code, and why:

- Binarised at an absolute 0.5 on the [0, 1] scale, not at half of each image's own range: for
  real digits (black 0, full ink 1) the two nearly agree, but a faint decoded smear would be read at half
  its faint peak, so a model that draws faint blur would get "strokes". ``relative=True``
  restores theirs (then a flat image has no ink). On 300 real digits the two differ by 0.3 px²
  in area, 0.6 px in length and 0.02 px in thickness on average (an upsampled digit's peak is a
  little under 1).
- No stroke (ink under :data:`MIN_AREA` px²) gives NaN measures and ``stroke`` False, so callers
  can count it as a failure; their code measures whatever the threshold leaves.
- Batched and vectorised (about 50× faster than their loop over images): the upsampling is
  ``pyramid_expand`` with its spline written as a matrix product (equal to it to 1e-15), and the
  medial axis runs scikit-image's own thinning loop over every digit at once, in the order
  ``medial_axis(…, rng=42)`` uses for each alone: the same skeleton, pixel for pixel (a test).
- The frame's edge counts as background: their distance transform does not look past it. Only
  a digit whose ink reaches the edge differs (1 % of MNIST, by a few skeleton pixels).
- The image is not rounded to 8 bits after upsampling (theirs is, since MNIST is uint8).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

# scipy and scikit-image are imported where they are used: seconds on a busy machine, and a page
# that only shows stored measures never needs them.

if TYPE_CHECKING:
    import torch

SCALE = 4  # their upsampling factor
THRESHOLD = 0.5  # ink: at least half intensity
BOUND_FRAC = 0.02  # mass left out of the bounding parallelogram, half on each side
MIN_AREA = 4.0  # px²: less ink than a 2×2 dot is no stroke (the least of 10,000 MNIST digits: 20)
NAMES = ("area", "length", "thickness", "slant", "width", "height")
TIEBREAK_SEED = 42  # their rng for the medial axis


@dataclass(frozen=True)
class Morphometrics:
    """Six measures per digit, each (n,) float64 in 28×28 pixels (slant in radians), NaN where
    ``stroke`` is False."""

    area: np.ndarray
    length: np.ndarray
    thickness: np.ndarray
    slant: np.ndarray
    width: np.ndarray
    height: np.ndarray
    stroke: np.ndarray  # (n,) bool: False for a blank or near-blank image

    def as_dict(self) -> dict[str, np.ndarray]:
        """The six measures by name (not ``stroke``)."""
        return {name: getattr(self, name) for name in NAMES}

    def table(self) -> np.ndarray:
        """(n, 6) in the order of :data:`NAMES`."""
        return np.stack([getattr(self, name) for name in NAMES], axis=1)

    def __len__(self) -> int:
        return len(self.stroke)

    def no_stroke_share(self) -> float:
        """The share of images with no stroke: failures, for a model's samples."""
        return float(np.mean(~self.stroke)) if len(self) else float("nan")


def attribute_distances(samples: Morphometrics, real: Morphometrics) -> dict[str, float]:
    """How far the samples' distribution of each attribute is from the real digits': the
    Wasserstein-1 distance between the two empirical distributions (the mean shift needed to move
    one histogram onto the other), in standard deviations of the real digits' attribute, so that
    attributes compare. Over images with a stroke only: count the others with
    :meth:`Morphometrics.no_stroke_share`. NaN where either side has no stroke at all."""
    from scipy.stats import wasserstein_distance

    distances = {}
    for name in NAMES:
        a = getattr(samples, name)[samples.stroke]
        b = getattr(real, name)[real.stroke]
        spread = float(np.std(b)) if len(b) > 1 else 0.0
        if len(a) == 0 or spread == 0.0:
            distances[name] = float("nan")
            continue
        distances[name] = float(wasserstein_distance(a, b)) / spread
    return distances


def measure(
    images: np.ndarray | torch.Tensor,
    threshold: float = THRESHOLD,
    scale: int = SCALE,
    bound_frac: float = BOUND_FRAC,
    relative: bool = False,
    batch: int = 250,
) -> Morphometrics:
    """Morpho-MNIST's measures of digits (n, H, W) or (n, 1, H, W) in [0, 1], numpy or torch;
    ``batch`` digits at a time bound the memory (about 0.3 MB per digit)."""
    x = _as_batch(images)
    parts = [
        _measure_batch(x[i : i + batch], threshold, scale, bound_frac, relative)
        for i in range(0, len(x), batch)
    ]
    if not parts:
        return Morphometrics(*[np.zeros(0)] * len(NAMES), stroke=np.zeros(0, bool))
    columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
    return Morphometrics(*columns[:-1], stroke=columns[-1])


def _measure_batch(
    x: np.ndarray, threshold: float, scale: int, bound_frac: float, relative: bool
) -> list[np.ndarray]:
    """The six measures and ``stroke`` of (n, H, W) float64 images."""
    hires = upsample(x, scale)
    if relative:  # theirs: a fraction of each image's own range
        low = hires.min((1, 2), keepdims=True)
        level = low + (hires.max((1, 2), keepdims=True) - low) * threshold
        ink = (hires >= level) & (hires > low)
    else:
        ink = hires >= threshold
    k, r, c, on_axis, distance = _medial_axis_pixels(ink)
    skeleton = np.zeros(ink.shape, bool)
    skeleton[k[on_axis], r[on_axis], c[on_axis]] = True
    area = ink.sum((1, 2)) / scale**2
    stroke = area >= MIN_AREA
    axis_sum = np.bincount(k[on_axis], distance[on_axis], len(x))
    axis_count = np.maximum(np.bincount(k[on_axis], minlength=len(x)), 1)
    thickness = 2 * axis_sum / axis_count / scale
    slant, width, height = _shape(hires, bound_frac)
    values = [area, skeleton_length(skeleton) / scale, thickness, slant]
    values += [width / scale, height / scale]
    return [np.where(stroke, v, np.nan) for v in values] + [stroke]


def _as_batch(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """float64 (n, H, W) from numpy or torch, (n, H, W) or (n, 1, H, W); one clear error else."""
    x = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, np.float64)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or min(x.shape[1:], default=0) < 3:
        raise ValueError(f"morphometrics needs digits (n, H, W) or (n, 1, H, W); got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("morphometrics needs finite pixel values")
    return x


@functools.cache
def _spline_matrix(size: int, scale: int) -> np.ndarray:
    """``pyramid_expand``'s cubic spline along one axis as a matrix (size·scale, size), read off
    ``skimage.transform.resize`` applied to unit vectors."""
    from skimage.transform import resize

    columns = [
        resize(np.eye(size)[:, [k]], (size * scale, 1), order=3, mode="reflect", clip=False)
        for k in range(size)
    ]
    return np.concatenate(columns, axis=1)


def upsample(images: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """``skimage.transform.pyramid_expand(image, scale, order=3)`` of each image (n, H, W): a
    cubic spline clipped to the image's own range (``resize``'s ``clip=True``), then a Gaussian of
    σ = 2·scale/6 (``skimage.filters.gaussian``: scipy's filter with ``mode="reflect"``)."""
    from scipy import ndimage as ndi

    resized = (
        _spline_matrix(images.shape[1], scale) @ images @ _spline_matrix(images.shape[2], scale).T
    )
    low = images.min((1, 2), keepdims=True)
    np.clip(resized, low, images.max((1, 2), keepdims=True), out=resized)
    sigma = 2 * scale / 6.0
    return ndi.gaussian_filter(resized, sigma=(0, sigma, sigma), mode="reflect", truncate=4.0)


@functools.cache
def _thinning_table() -> np.ndarray:
    """skimage's ``medial_axis`` table over the 512 3×3 patterns: 1 where the centre must stay
    (it is ink and removing it would split or merge components, or it has < 3 ink pixels)."""
    from scipy import ndimage as ndi

    patterns = ((np.arange(512)[:, None] >> np.arange(9)) & 1).astype(bool).reshape(512, 3, 3)
    eight = np.ones((3, 3), bool)
    keep = []
    for pattern in patterns:
        without = pattern.copy()
        without[1, 1] = False
        splits = ndi.label(pattern, eight)[1] != ndi.label(without, eight)[1]
        keep.append(pattern[1, 1] and (splits or pattern.sum() < 3))
    return np.array(keep, dtype=np.uint8)


def _tiebreak(k: np.ndarray, n: int, seed: int) -> np.ndarray:
    """skimage's tie-break for each ink pixel of images k (raster order within each image): a
    permutation of 0 … count − 1 from ``default_rng(seed)``, drawn per image as ``medial_axis``
    draws it for one image, so each image gets what ``medial_axis(…, rng=seed)`` gives it."""
    counts = np.bincount(k, minlength=n)
    draws = [np.random.default_rng(seed).permutation(count) for count in counts if count]
    return np.concatenate(draws)


def medial_axes(ink: np.ndarray, seed: int = TIEBREAK_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Medial axis (n, H, W) bool and distance to the background (n, H, W) of each binary image
    (n, H, W): ``skimage.morphology.medial_axis(image, return_distance=True, rng=seed)`` of each,
    the frame's edge counting as background. See :func:`_medial_axis_pixels`."""
    k, r, c, on_axis, distance = _medial_axis_pixels(ink, seed)
    skeleton = np.zeros(ink.shape, bool)
    skeleton[k, r, c] = on_axis
    distances = np.zeros(ink.shape, np.float64)
    distances[k, r, c] = distance
    return skeleton, distances


def _medial_axis_pixels(
    ink: np.ndarray, seed: int = TIEBREAK_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For every ink pixel (image k, row r, column c), whether it is on the medial axis and its
    distance to the background: five (pixels,) arrays.

    Every image is cropped to its ink, with a blank margin, and laid side by side in one strip, so
    one distance transform and one pass of skimage's thinning loop serve the whole batch (a strip
    wider than tall: scipy's transform is 4× slower on a tall one). The loop removes pixels in
    skimage's order: distance, then cornerness (background pixels in the 3×3 neighbourhood, most
    last), then a random tie-break (:func:`_tiebreak`). Images do not touch in the strip, so
    each one's axis is what skimage gives it alone.
    """
    from scipy import ndimage as ndi
    from skimage.morphology._skeletonize_various_cy import _skeletonize_loop

    n, h, w = ink.shape
    k, r, c = np.nonzero(ink)
    if len(k) == 0:
        return k, r, c, np.zeros(0, bool), np.zeros(0)
    strip, row, col = _strip(ink, k, r, c)
    dist = ndi.distance_transform_edt(strip)[row, col]
    d2 = np.rint(dist**2).astype(np.int64)  # exact: squared distances are integers
    key = (d2 * 16 + _cornerness(strip, row, col)) * (h * w) + _tiebreak(k, n, seed)
    if key.max() < np.iinfo(np.int32).max:
        key = key.astype(np.int32)  # sorts about a quarter faster
    order = np.argsort(key).astype(np.int32)
    result = strip.view(np.uint8)
    _skeletonize_loop(result, row, col, order, _thinning_table())
    return k, r, c, result[row, col].astype(bool), dist


def _cornerness(strip: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Background pixels in the 3×3 neighbourhood of each ink pixel (int64): skimage's
    ``cornerness_table``, which thins the most "cornery" pixels last."""
    padded = np.pad(strip, 1).view(np.uint8)
    ink = np.zeros(len(row), np.int64)
    for dr in range(3):
        for dc in range(3):
            ink += padded[row + dr, col + dc]
    return 9 - ink


def _strip(
    ink: np.ndarray, k: np.ndarray, r: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The images' ink cropped to its bounding box with a one-pixel blank margin, side by side;
    with the strip's (row, column) of each ink pixel (k, r, c), as intp."""
    n, h, _ = ink.shape
    top = np.full(n, h)
    left = np.full(n, ink.shape[2])
    right = np.zeros(n, np.int64)
    np.minimum.at(top, k, r)
    np.minimum.at(left, k, c)
    np.maximum.at(right, k, c + 1)
    widths = np.where(right > 0, right - left + 2, 0)  # an image with no ink takes no room
    start = np.concatenate([[0], np.cumsum(widths)[:-1]])
    row = np.ascontiguousarray(r - top[k] + 1, dtype=np.intp)
    col = np.ascontiguousarray(c - left[k] + 1 + start[k], dtype=np.intp)
    strip = np.zeros((row.max() + 2, int(widths.sum())), bool)
    strip[row, col] = True
    return strip, row, col


_DIAGONAL = np.sqrt(2.0)


def skeleton_length(skeleton: np.ndarray) -> np.ndarray:
    """Length (n,) of each skeleton (n, H, W), in its own pixels: every pair of 8-neighbours on
    it counted once, 1 for a horizontal or vertical step and √2 for a diagonal one (Castro et
    al.'s correlation with [[0, 0, 0], [0, 0, 1], [√2, 1, √2]])."""
    s = skeleton
    right = (s[:, :, :-1] & s[:, :, 1:]).sum((1, 2))
    down = (s[:, :-1, :] & s[:, 1:, :]).sum((1, 2))
    down_left = (s[:, :-1, 1:] & s[:, 1:, :-1]).sum((1, 2))
    down_right = (s[:, :-1, :-1] & s[:, 1:, 1:]).sum((1, 2))
    return right + down + _DIAGONAL * (down_left + down_right)


def _shape(hires: np.ndarray, bound_frac: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slant (radians) and the bounding parallelogram's width and height (upsampled pixels) from
    the intensity of each image (n, H, W) (Castro et al.'s ``ImageMoments`` and
    ``bounding_parallelogram``: x grows to the right, y down)."""
    _, h, w = hires.shape
    x, y = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
    cols, rows = hires.sum(1), hires.sum(2)  # (n, W), (n, H)
    mass = np.maximum(rows.sum(1), np.finfo(np.float64).tiny)
    mx, my = cols @ x / mass, rows @ y / mass
    u11 = (hires @ x) @ y / mass - mx * my
    u02 = np.maximum(rows @ y**2 / mass - my**2, np.finfo(np.float64).tiny)
    shear = u11 / u02  # horizontal shear: x drifts by `shear` per row down
    slant = np.arctan(-shear)
    half = bound_frac / 2
    # Horizontal: the share of mass left of t after undoing the shear, t = 0 … W − 1.
    sheared = x[None, None, :] + 0.5 - shear[:, None, None] * (y[None, :, None] - my[:, None, None])
    bins = np.clip(np.floor(sheared).astype(np.int64) + 1, 0, w)  # u < t ⇔ floor(u) + 1 ≤ t
    bins += (w + 1) * np.arange(len(hires))[:, None, None]
    hist = np.bincount(bins.ravel(), hires.ravel(), (w + 1) * len(hires)).reshape(-1, w + 1)
    hcdf = np.cumsum(hist, 1)[:, :w] / mass[:, None]
    vcdf = np.concatenate([np.zeros((len(hires), 1)), np.cumsum(rows, 1)[:, :-1]], 1)
    vcdf /= mass[:, None]
    left, right = _interp_rows(half, hcdf, x), _interp_rows(1 - half, hcdf, x)
    top, bottom = _interp_rows(half, vcdf, y), _interp_rows(1 - half, vcdf, y)
    return slant, right - left, bottom - top


def _interp_rows(value: float, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp(value, xp[i], fp)`` for every row of a non-decreasing ``xp`` (n, m)."""
    m = xp.shape[1]
    j = np.clip((xp <= value).sum(1) - 1, 0, m - 2)
    rows = np.arange(len(xp))
    x0, x1 = xp[rows, j], xp[rows, j + 1]
    step = np.where(x1 > x0, x1 - x0, 1.0)
    t = np.clip((value - x0) / step, 0.0, 1.0)
    return fp[j] + t * (fp[j + 1] - fp[j])
