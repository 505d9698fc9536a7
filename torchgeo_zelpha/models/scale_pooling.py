"""Finite scale-group pooling: one shared backbone at several internal scales."""

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn as nn
from torch import Tensor

from ..transforms import scale_shift

__all__ = ('ScalePooledBackbone', 'ScalePooling', 'TrainScales')

ScalePooling = Literal['mean', 'max']
#: ``'all'``: train on the pooled features of every internal scale (S backbone
#: passes per image); ``'sample'``: train on one internal scale drawn per step.
TrainScales = Literal['all', 'sample']


class ScalePooledBackbone(nn.Module):
    """Run one backbone on ``S`` zoomed copies of the input and pool over scales.

    ``z(x) = pool_s f(T_s x)`` for ``s`` in ``scales``, where ``T_s`` is
    :func:`~torchgeo_zelpha.transforms.scale_shift` and ``pool`` is the mean or the
    element-wise max over the scale axis. Pooling over a (finite) set of scales makes
    ``z`` nearly invariant to a scale shift that maps the set onto itself (theory,
    condition 1: scale pooling). All ``S`` copies go through the backbone in one
    batched call of size ``S * B``.

    ``train_scales='sample'`` (mean pooling only) trains on ``f(T_s x)`` for one
    ``s`` drawn uniformly per training step: an unbiased one-sample estimate of the
    mean over scales at 1/S of the cost, so a fixed wall-time budget buys S times
    more epochs. Evaluation always pools over every scale.
    """

    def __init__(
        self,
        backbone: nn.Module,
        scales: Sequence[float] = (0.8, 1.0, 1.2),
        pooling: ScalePooling = 'mean',
        padding_mode: str = 'reflection',
        train_scales: TrainScales = 'all',
    ) -> None:
        """Initialize a new ScalePooledBackbone.

        Args:
            backbone: maps ``[N, C, H, W]`` to ``[N, D]``.
            scales: the internal scales (finite, > 0, non-empty).
            pooling: ``'mean'`` or ``'max'`` over the scale axis.
            padding_mode: border fill of the internal scale shifts.
            train_scales: ``'all'`` or ``'sample'`` (one scale per training step;
                needs ``pooling='mean'``).

        Raises:
            ValueError: if ``scales``, ``pooling`` or ``train_scales`` is invalid.
        """
        super().__init__()
        scales = tuple(float(s) for s in scales)
        if not scales or any(not (s > 0 and s < float('inf')) for s in scales):
            raise ValueError(f'scales must be non-empty, finite and > 0, got {scales}')
        if pooling not in ('mean', 'max'):
            raise ValueError(f"pooling must be 'mean' or 'max', got {pooling!r}")
        if train_scales not in ('all', 'sample'):
            raise ValueError(
                f"train_scales must be 'all' or 'sample', got {train_scales!r}"
            )
        if train_scales == 'sample' and pooling != 'mean':
            # One sampled scale estimates a mean without bias, not a max.
            raise ValueError("train_scales='sample' needs pooling='mean'")
        self.backbone = backbone
        self.scales = scales
        self.pooling = pooling
        self.padding_mode = padding_mode
        self.train_scales = train_scales

    def zoomed_copies(self, images: Tensor) -> Tensor:
        """The input at every internal scale, scale-major: ``[S * B, C, H, W]``.

        Copy ``k * B + i`` is image ``i`` zoomed by ``scales[k]``. Each resize is a
        cheap call with a scalar factor (blur only where s < 0.743); ``s = 1`` is the
        input itself rather than a zoomed copy (``torch.cat`` copies it once anyway).
        """
        return torch.cat(
            [
                images if s == 1 else scale_shift(images, s, self.padding_mode)
                for s in self.scales
            ]
        )

    def scale_features(self, images: Tensor) -> Tensor:
        """Features at every internal scale, ``[B, S, D]`` (one backbone call)."""
        if images.ndim != 4:
            raise ValueError(f'expected [B, C, H, W] images, got {tuple(images.shape)}')
        batch, num_scales = images.shape[0], len(self.scales)
        if self.scales == (1.0,):
            return self.backbone(images)[:, None]
        # The expensive part, the backbone, runs once on all S * B images.
        features = self.backbone(self.zoomed_copies(images))
        if features.ndim != 2 or features.shape[0] != num_scales * batch:
            raise ValueError(
                f'backbone must return [N, D] features, got {tuple(features.shape)}'
            )
        return features.view(num_scales, batch, -1).transpose(0, 1)

    def forward(self, images: Tensor) -> Tensor:
        """Scale-pooled features ``[B, D]``."""
        if self.training and self.train_scales == 'sample' and len(self.scales) > 1:
            # Drawn from torch's global generator, so seed_everything fixes it.
            k = int(torch.randint(len(self.scales), ()))
            return self.backbone(
                scale_shift(images, self.scales[k], padding_mode=self.padding_mode)
            )
        features = self.scale_features(images)
        if self.pooling == 'mean':
            return features.mean(dim=1)
        return features.amax(dim=1)
