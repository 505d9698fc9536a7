import kornia.augmentation as K
import pytest
import torch
from kornia.filters import gaussian_blur2d

from torchgeo_zelpha.transforms import (
    MIN_BLUR_SIGMA,
    RandomScaleShift,
    ScaleShift,
    scale_shift,
)


def centred_square(size: int = 256, side: int = 64) -> torch.Tensor:
    x = torch.zeros(1, 1, size, size)
    lo = (size - side) // 2
    x[..., lo : lo + side, lo : lo + side] = 1
    return x


def extent(mask: torch.Tensor) -> tuple[float, float, float]:
    """Side (from area), centre row and centre column of a binary mask."""
    rows = mask.any(1).nonzero()
    cols = mask.any(0).nonzero()
    side = float(mask.sum()) ** 0.5
    return (
        side,
        (rows.min() + rows.max()).item() / 2,
        (cols.min() + cols.max()).item() / 2,
    )


@pytest.mark.parametrize('s', [0.7, 0.85, 1.0, 1.15, 1.3])
def test_centred_square_scales_and_stays_centred(s: float) -> None:
    out = ScaleShift(s)(centred_square())
    side, cy, cx = extent(out[0, 0] > 0.5)
    assert side == pytest.approx(64 * s, abs=1.5)
    assert cy == pytest.approx(127.5, abs=0.5)
    assert cx == pytest.approx(127.5, abs=0.5)
    assert out.shape == (1, 1, 256, 256)


def test_off_centre_point_moves_away_from_centre() -> None:
    x = torch.zeros(1, 1, 65, 65)
    x[..., 32, 42] = 1  # 10 px right of the centre (32, 32)
    out = scale_shift(x, 1.2, antialias=False)
    col = out[0, 0, 32].argmax().item()
    assert col == 44  # 32 + 1.2 * 10


def test_deterministic_bit_for_bit() -> None:
    x = torch.rand(3, 3, 64, 64)
    assert torch.equal(scale_shift(x, 0.7), scale_shift(x, 0.7))
    assert torch.equal(scale_shift(x, 1.3), scale_shift(x.clone(), 1.3))


def test_identity_and_per_image_scales() -> None:
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(scale_shift(x, 1.0), x)
    both = scale_shift(x, torch.tensor([0.8, 1.2]))
    assert torch.allclose(both[0], scale_shift(x[:1], 0.8)[0], atol=1e-5)
    assert torch.allclose(both[1], scale_shift(x[1:], 1.2)[0], atol=1e-5)


def test_reflection_padding_has_no_black_border() -> None:
    x = torch.rand(1, 3, 64, 64) * 0.5 + 0.5
    assert scale_shift(x, 0.7, padding_mode='reflection').min() > 0.3
    assert scale_shift(x, 0.7, padding_mode='zeros')[..., 0, 0].max() < 1e-6


def test_antialias_removes_aliasing() -> None:
    # A 2-pixel checkerboard shrunk to 0.45 has no resolvable content left: its
    # anti-aliased version is almost flat, the plain bilinear one is not.
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing='ij')
    board = ((yy + xx) % 2).float()[None, None]
    smooth = scale_shift(board, 0.45, antialias=True)[..., 16:48, 16:48]
    aliased = scale_shift(board, 0.45, antialias=False)[..., 16:48, 16:48]
    assert smooth.std() < 0.5 * aliased.std()


def test_blur_below_min_sigma_is_a_no_op_and_is_skipped() -> None:
    x = torch.rand(2, 3, 32, 32)
    sigma = torch.full((2, 2), MIN_BLUR_SIGMA * 0.999)
    # At the threshold the blur moves a value in [0, 1] by a few float32 roundings.
    blurred = gaussian_blur2d(x, (3, 3), sigma)
    assert (blurred - x).abs().max() <= 2**-21
    # Internal scale 0.8 (sigma 0.125) and test scale 0.85 need no blur; 0.7 does.
    for s in (0.8, 0.85):
        assert torch.equal(scale_shift(x, s), scale_shift(x, s, antialias=False))
    assert not torch.equal(scale_shift(x, 0.7), scale_shift(x, 0.7, antialias=False))


def test_gradients_flow() -> None:
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    scale_shift(x, 0.8).sum().backward()
    assert (
        x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    )


@pytest.mark.parametrize(
    ('images', 'scale', 'error', 'match'),
    [
        (torch.rand(3, 8, 8), 1.1, ValueError, 'shape'),
        (torch.rand(0, 3, 8, 8), 1.1, ValueError, 'empty'),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 1.1, TypeError, 'floating'),
        (torch.rand(1, 3, 8, 8), 0.0, ValueError, '> 0'),
        (torch.rand(1, 3, 8, 8), -1.0, ValueError, '> 0'),
        (torch.rand(1, 3, 8, 8), float('nan'), ValueError, 'finite'),
        (torch.rand(1, 3, 8, 8), float('inf'), ValueError, 'finite'),
        (torch.rand(2, 3, 8, 8), torch.ones(3), ValueError, 'shape'),
        ([[1.0]], 1.1, TypeError, 'Tensor'),
    ],
)
def test_bad_input(images: object, scale: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        scale_shift(images, scale)  # type: ignore[arg-type]


def test_bad_module_arguments() -> None:
    with pytest.raises(ValueError, match='> 0'):
        ScaleShift(0)
    with pytest.raises(ValueError, match='padding_mode'):
        ScaleShift(1.1, padding_mode='wrap')
    with pytest.raises(ValueError, match='padding_mode'):
        scale_shift(torch.rand(1, 1, 8, 8), 1.1, padding_mode='wrap')
    with pytest.raises(ValueError, match='scale_range'):
        RandomScaleShift((1.2, 0.9))
    with pytest.raises(ValueError, match='scale_range'):
        RandomScaleShift((0.0, 1.0))


def test_random_scale_shift_in_sequential_with_dict_batches() -> None:
    aug = K.AugmentationSequential(
        K.RandomHorizontalFlip(), RandomScaleShift((0.8, 1.2)), data_keys=None
    )
    batch = {'image': torch.rand(4, 3, 32, 32), 'label': torch.arange(4)}
    out = aug(batch)
    assert out['image'].shape == (4, 3, 32, 32)
    assert torch.equal(out['label'], torch.arange(4))


def test_random_scale_shift_draws_in_range_and_replays() -> None:
    aug = RandomScaleShift((0.9, 1.1))
    x = torch.rand(16, 3, 16, 16)
    y = aug(x)
    scales = aug._params['scale']
    assert ((scales >= 0.9) & (scales <= 1.1)).all()
    assert torch.equal(y, aug(x, params=aug._params))
    assert torch.allclose(y, scale_shift(x, scales), atol=1e-6)
