"""Scale shift: zoom about the image centre and return the original size.

The scale shift is the perturbation the whole theory is about: a change of ground
sampling distance by a factor ``s``. ``s > 1`` zooms in (objects look bigger, the
border is cropped away); ``s < 1`` zooms out (objects look smaller, the border is
filled by padding).
"""

import math
from typing import Any

import kornia.augmentation as K
import torch
from kornia.filters import gaussian_blur2d
from kornia.geometry.transform import warp_affine
from torch import Tensor

__all__ = ('RandomScaleShift', 'ScaleShift', 'scale_shift', 'scale_shift_matrix')

#: Padding modes accepted by :func:`scale_shift` (those of ``grid_sample``).
PADDING_MODES = ('reflection', 'border', 'zeros')

#: Below this sigma (pixels) a Gaussian puts less than 2**-24 of the centre weight
#: on each neighbouring pixel (``exp(-1 / (2 sigma**2)) < 2**-24``), float32's
#: resolution: the blur would move a value by about one rounding step at most, so
#: it is skipped. Shrinking by s > 0.743 (sigma = (1/s - 1) / 2) needs no blur.
MIN_BLUR_SIGMA = 1 / math.sqrt(48 * math.log(2))


def _check_images(images: Tensor) -> None:
    """Raise a clear error if ``images`` is not a float ``[B, C, H, W]`` batch."""
    if not isinstance(images, Tensor):
        raise TypeError(f'images must be a torch.Tensor, got {type(images).__name__}')
    if images.ndim != 4:
        raise ValueError(
            f'images must have shape [B, C, H, W], got {images.ndim} dimensions '
            f'(shape {tuple(images.shape)})'
        )
    if images.shape[0] == 0:
        raise ValueError('images is an empty batch (B = 0)')
    if not images.is_floating_point():
        raise TypeError(
            f'images must be a floating point tensor, got {images.dtype}; '
            'convert with images.float() first'
        )


def _scales_as_tensor(scale: float | Tensor, images: Tensor) -> Tensor:
    """Return ``scale`` as a ``[B]`` tensor after checking that it is finite and > 0."""
    batch = images.shape[0]
    s = torch.as_tensor(scale, dtype=images.dtype, device=images.device)
    if s.ndim == 0:
        s = s.expand(batch)
    elif s.shape != (batch,):
        raise ValueError(
            f'scale must be a number or a tensor of shape [B] = [{batch}], '
            f'got shape {tuple(s.shape)}'
        )
    if not bool(torch.isfinite(s).all()):
        raise ValueError(f'scale must be finite, got {s.tolist()}')
    if bool((s <= 0).any()):
        raise ValueError(f'scale must be > 0, got {s.tolist()}')
    return s


def scale_shift_matrix(scale: Tensor, height: int, width: int) -> Tensor:
    """Affine matrices that zoom about the image centre.

    Args:
        scale: zoom factors of shape ``[B]``.
        height: image height in pixels.
        width: image width in pixels.

    Returns:
        ``[B, 3, 3]`` matrices mapping source to destination pixel coordinates:
        ``p_dst = c + s * (p_src - c)`` with ``c`` the image centre.
    """
    cx, cy = (width - 1) / 2, (height - 1) / 2
    matrix = torch.zeros(scale.shape[0], 3, 3, dtype=scale.dtype, device=scale.device)
    matrix[:, 0, 0] = scale
    matrix[:, 1, 1] = scale
    matrix[:, 0, 2] = (1 - scale) * cx
    matrix[:, 1, 2] = (1 - scale) * cy
    matrix[:, 2, 2] = 1
    return matrix


def antialias_sigma(scale: Tensor) -> Tensor:
    """Gaussian sigma (pixels) that removes frequencies aliased by shrinking.

    Follows the usual ``(1/s - 1) / 2`` rule (as in scikit-image's ``rescale``);
    zero for ``s >= 1`` where nothing is shrunk.
    """
    return ((1 / scale - 1) / 2).clamp(min=0)


def scale_shift(
    images: Tensor,
    scale: float | Tensor,
    padding_mode: str = 'reflection',
    antialias: bool = True,
    mode: str = 'bilinear',
) -> Tensor:
    """Zoom a batch of images about their centre by ``scale``, keeping their size.

    Pixel ``p`` of the output samples the input at ``c + (p - c) / s``, where ``c``
    is the image centre. For ``s > 1`` the central ``H/s x W/s`` window is enlarged
    to ``H x W`` (a crop); for ``s < 1`` the whole image shrinks to ``s*H x s*W``
    and the rest is filled according to ``padding_mode``.

    The map is linear in ``images`` and differentiable; it is deterministic (same
    input, same output, bit for bit) because it only uses a fixed Gaussian blur and
    ``grid_sample``.

    Args:
        images: float images of shape ``[B, C, H, W]``.
        scale: zoom factor, a number or a ``[B]`` tensor (one per image); > 0.
        padding_mode: how the border is filled when ``s < 1``: ``'reflection'``
            (default: mirrors the scene, so that a zoomed-out image has no black
            frame whose width would reveal the scale), ``'border'`` or ``'zeros'``.
        antialias: blur before shrinking (``s < 1``) so that fine textures do not
            alias into spurious patterns; skipped where the blur is too narrow to
            change a float32 value (``s > 0.743``, see ``MIN_BLUR_SIGMA``).
        mode: interpolation, ``'bilinear'`` or ``'nearest'``.

    Returns:
        The zoomed images, same shape and dtype as ``images``.

    Raises:
        TypeError: if ``images`` is not a floating point tensor.
        ValueError: if ``images`` is not ``[B, C, H, W]`` or empty, if ``scale`` is
            not finite or not > 0, or if ``padding_mode`` is unknown.
    """
    _check_images(images)
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f'padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}'
        )
    s = _scales_as_tensor(scale, images)
    height, width = images.shape[-2:]
    if bool((s == 1).all()):
        return images.clone()

    sigma = antialias_sigma(s)
    # A blur that cannot change a float32 value is skipped (the internal scale 0.8,
    # the test scale 0.85): part of the zooms' 0.18x -> 0.12x in throughput.py.
    if antialias and bool((sigma >= MIN_BLUR_SIGMA).any()):
        # A sigma of ~0 gives a delta kernel, so images with s >= 1 pass unchanged.
        sigma = sigma.clamp(min=1e-3)
        radius = max(1, math.ceil(3 * float(sigma.max())))
        kernel = min(2 * radius + 1, 2 * ((min(height, width) - 1) // 2) + 1)
        images = gaussian_blur2d(
            images, (kernel, kernel), torch.stack([sigma, sigma], dim=-1)
        )

    matrix = scale_shift_matrix(s, height, width)
    return warp_affine(
        images,
        matrix[:, :2, :],
        (height, width),
        mode=mode,
        padding_mode=padding_mode,
        align_corners=True,
    )


class ScaleShift(torch.nn.Module):
    """Deterministic scale shift by a fixed factor (see :func:`scale_shift`).

    Example:
        >>> images = torch.rand(2, 3, 64, 64)
        >>> ScaleShift(1.3)(images).shape
        torch.Size([2, 3, 64, 64])
    """

    def __init__(
        self, scale: float, padding_mode: str = 'reflection', antialias: bool = True
    ) -> None:
        """Initialize a new ScaleShift instance.

        Args:
            scale: zoom factor (> 0): > 1 zooms in (crop), < 1 zooms out (pad).
            padding_mode: ``'reflection'``, ``'border'`` or ``'zeros'``.
            antialias: blur before shrinking.

        Raises:
            ValueError: if ``scale`` is not finite and > 0, or the padding mode is
                unknown.
        """
        super().__init__()
        if not math.isfinite(scale) or scale <= 0:
            raise ValueError(f'scale must be finite and > 0, got {scale}')
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f'padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}'
            )
        self.scale = float(scale)
        self.padding_mode = padding_mode
        self.antialias = antialias

    def forward(self, images: Tensor) -> Tensor:
        """Apply the scale shift to ``[B, C, H, W]`` float images."""
        return scale_shift(images, self.scale, self.padding_mode, self.antialias)

    def extra_repr(self) -> str:
        """Show the parameters in ``repr``."""
        return f'scale={self.scale}, padding_mode={self.padding_mode!r}'


class RandomScaleShift(K.GeometricAugmentationBase2D):
    """Random scale shift for training, a Kornia augmentation.

    Draws one factor per image, uniformly in ``scale_range``, and applies
    :func:`scale_shift`. Because it is a Kornia augmentation, it composes in
    :class:`kornia.augmentation.AugmentationSequential` (with TorchGeo's dict
    batches and ``data_keys=None``) and its parameters can be replayed.
    """

    def __init__(
        self,
        scale_range: tuple[float, float] = (0.9, 1.1),
        padding_mode: str = 'reflection',
        antialias: bool = True,
        p: float = 1.0,
        same_on_batch: bool = False,
        keepdim: bool = False,
    ) -> None:
        """Initialize a new RandomScaleShift instance.

        Args:
            scale_range: ``(low, high)`` with ``0 < low <= high``.
            padding_mode: ``'reflection'``, ``'border'`` or ``'zeros'``.
            antialias: blur before shrinking.
            p: probability of applying the shift to an image.
            same_on_batch: draw one factor for the whole batch.
            keepdim: keep the input's shape (Kornia's convention).

        Raises:
            ValueError: if the range is not ``0 < low <= high`` and finite.
        """
        super().__init__(p=p, same_on_batch=same_on_batch, keepdim=keepdim)
        low, high = (float(v) for v in scale_range)
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
            raise ValueError(
                f'scale_range must satisfy 0 < low <= high, got {scale_range}'
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f'padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}'
            )
        self.scale_range = (low, high)
        self.flags = {'padding_mode': padding_mode, 'antialias': antialias}

    def generate_parameters(self, batch_shape: tuple[int, ...]) -> dict[str, Tensor]:
        """Draw one zoom factor per image (uses the global torch RNG)."""
        low, high = self.scale_range
        n = 1 if self.same_on_batch else batch_shape[0]
        scale = torch.empty(n).uniform_(low, high).expand(batch_shape[0])
        return {'scale': scale.clone()}

    def compute_transformation(
        self, input: Tensor, params: dict[str, Tensor], flags: dict[str, Any]
    ) -> Tensor:
        """Return the ``[B, 3, 3]`` zoom matrices, for Kornia's bookkeeping."""
        scale = params['scale'].to(input.device, input.dtype)
        return scale_shift_matrix(scale, input.shape[-2], input.shape[-1])

    def apply_transform(
        self,
        input: Tensor,
        params: dict[str, Tensor],
        flags: dict[str, Any],
        transform: Tensor | None = None,
    ) -> Tensor:
        """Zoom each image by its drawn factor."""
        return scale_shift(
            input,
            params['scale'].to(input.device, input.dtype),
            padding_mode=flags['padding_mode'],
            antialias=flags['antialias'],
        )
