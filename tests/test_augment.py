"""Training-time augmentation: whole-pixel shifts copy pixels, rotations keep the ink, and
DiffAugment's translation and cutout stay differentiable."""

import pytest
import torch

from explorer import objectives


def _digit() -> torch.Tensor:
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 10:18, 12:15] = 1.0  # a bar in the middle
    return x


def test_whole_pixel_shifts_move_pixels_exactly():
    torch.manual_seed(0)
    x = _digit().repeat(64, 1, 1, 1)
    moved = objectives.augment(x, shift=2)
    for image in moved:
        rows, cols = torch.nonzero(image[0] > 0.5, as_tuple=True)
        dy, dx = rows.min().item() - 10, cols.min().item() - 12
        assert -2 <= dy <= 2 and -2 <= dx <= 2
        assert torch.equal(image, torch.roll(x[0], (dy, dx), dims=(1, 2)))  # no blur
    offsets = {tuple(torch.nonzero(m[0] > 0.5)[0].tolist()) for m in moved}
    assert len(offsets) > 10  # each image gets its own shift


def test_rotation_keeps_the_ink_and_no_augmentation_is_the_identity():
    torch.manual_seed(1)
    x = _digit().repeat(16, 1, 1, 1)
    turned = objectives.augment(x, rotate=15)
    assert not torch.equal(turned, x)
    assert turned.sum((1, 2, 3)) == pytest.approx(x.sum((1, 2, 3)), rel=0.05)
    assert objectives.augment(x) is x


def test_diff_augment_cuts_a_square_and_passes_gradients():
    torch.manual_seed(2)
    x = torch.ones(32, 1, 28, 28, requires_grad=True)
    out = objectives.diff_augment(x, shift=0, cutout=14)
    blank = (out[:, 0] == 0).sum((1, 2))
    # A 14 x 14 square (13 x 13 pixels within half = 7 of its centre), clipped at the border.
    assert blank.max().item() == 13 * 13 and blank.min().item() >= 7 * 7
    out.sum().backward()
    assert torch.equal(x.grad, (out.detach() > 0).float())


def test_gaussian_blur_matches_scipy_per_image_and_keeps_the_ink():
    from scipy import ndimage

    x = _digit().repeat(3, 1, 1, 1)
    sigma = torch.tensor([0.0, 0.7, 1.5])
    out = objectives.gaussian_blur(x, sigma)
    assert torch.allclose(out[0], x[0])  # σ = 0: the image itself
    for i in (1, 2):
        # scipy's reference, truncated at 3 taps each side like ours and zero beyond the border.
        expected = ndimage.gaussian_filter(
            x[i, 0].double().numpy(), float(sigma[i]), mode="constant", radius=3
        )
        assert torch.allclose(out[i, 0].double(), torch.from_numpy(expected), atol=1e-6)
    # The bar is far from the border: blurring moves ink, it neither adds nor loses any.
    assert out.sum((1, 2, 3)) == pytest.approx(x.sum((1, 2, 3)), rel=1e-5)
    assert out[2].max() < out[1].max() < 1.0


def test_augment_blurs_each_image_by_its_own_random_width():
    torch.manual_seed(3)
    x = _digit().repeat(32, 1, 1, 1)
    blurred = objectives.augment(x, blur=1.5)
    peaks = blurred.amax((1, 2, 3))
    # Narrow blurs leave the 3-pixel bar's peak near 1; wider ones lower it, each its own way.
    assert len(set(peaks.tolist())) > 15 and peaks.max() <= 1 + 1e-6 and peaks.min() < 0.9
