"""ZelphaModel: scale-pooled, Lipschitz-controlled backbone with a prototype head."""

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn as nn
from torch import Tensor

from ..lipschitz.spectral_norm import SpectralNormMode, apply_spectral_norm
from .backbone import Normalization, ShallowCNN
from .prototype_head import PrototypeHead
from .scale_pooling import ScalePooledBackbone, ScalePooling, TrainScales

__all__ = ('VARIANTS', 'HeadType', 'ZelphaModel')

HeadType = Literal['prototype', 'linear']

#: The ablations: each is a configuration of the one model, not a copy of code.
#: ``zelpha_no_proto`` has the same model as ``zelpha``; it differs in the task's
#: loss (``beta = 0``).
VARIANTS: dict[str, dict[str, object]] = {
    'vanilla_cnn': {'scales': (1.0,), 'head': 'linear', 'spectral_norm': False},
    'zelpha_no_sn': {'spectral_norm': False},
    'zelpha_no_proto': {},
    'zelpha_single_scale': {'scales': (1.0,)},
    'zelpha_sampled_scales': {'train_scales': 'sample'},
    'zelpha': {},
}


class ZelphaModel(nn.Module):
    """Backbone at several internal scales, pooled, spectrally normalised, + head.

    ``features(x) = pool_s ShallowCNN(T_s x)`` and ``logits = head(features(x))``
    with the prototype head ``-||z - mu_c||^2`` (or a linear head for baselines).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        feature_dim: int = 128,
        widths: Sequence[int] = (32, 64, 128, 256),
        norm: Normalization = 'batch',
        scales: Sequence[float] = (0.8, 1.0, 1.2),
        pooling: ScalePooling = 'mean',
        train_scales: TrainScales = 'all',
        head: HeadType = 'prototype',
        spectral_norm: bool = True,
        spectral_norm_mode: SpectralNormMode = 'operator',
        n_power_iterations: int = 2,
        input_size: int = 128,
        prototype_init_std: float = 0.0,
        logit_scale: float = 10.0,
        learn_logit_scale: bool = True,
    ) -> None:
        """Initialize a new ZelphaModel.

        Args:
            num_classes: number of classes.
            in_channels: input bands.
            feature_dim: feature size D.
            widths: channels of the conv blocks.
            norm: ``'batch'`` or ``'none'`` normalisation in the backbone.
            scales: internal scales; ``(1.0,)`` switches scale pooling off.
            pooling: ``'mean'`` or ``'max'`` over scales.
            train_scales: ``'all'`` (pool every scale in training) or ``'sample'``
                (one scale per training step, all of them in evaluation).
            head: ``'prototype'`` or ``'linear'``.
            spectral_norm: normalise every conv and linear layer.
            spectral_norm_mode: ``'operator'`` (true conv norm) or ``'reshape'``.
            n_power_iterations: power iterations per training step.
            input_size: the input side used to size the conv power iterations.
            prototype_init_std: standard deviation of the initial prototypes.
            logit_scale: initial inverse temperature tau of the prototype head.
            learn_logit_scale: learn tau (else it stays fixed).
        """
        super().__init__()
        if head not in ('prototype', 'linear'):
            raise ValueError(f"head must be 'prototype' or 'linear', got {head!r}")
        self.num_classes = num_classes
        self.in_channels = in_channels
        backbone = ShallowCNN(in_channels, feature_dim, widths, norm)
        self.backbone = ScalePooledBackbone(
            backbone, scales, pooling, train_scales=train_scales
        )
        self.head: nn.Module
        if head == 'prototype':
            self.head = PrototypeHead(
                num_classes,
                feature_dim,
                logit_scale=logit_scale,
                learn_scale=learn_logit_scale,
                init_std=prototype_init_std,
            )
        else:
            self.head = nn.Linear(feature_dim, num_classes)
        if spectral_norm:
            example = torch.zeros(1, in_channels, input_size, input_size)
            apply_spectral_norm(
                self.backbone, spectral_norm_mode, n_power_iterations, example
            )

    @classmethod
    def variant(cls, name: str, num_classes: int, **kwargs: object) -> 'ZelphaModel':
        """Build a named ablation (see :data:`VARIANTS`), overriding with ``kwargs``."""
        if name not in VARIANTS:
            raise ValueError(
                f'unknown variant {name!r}; choose from {sorted(VARIANTS)}'
            )
        return cls(num_classes, **{**VARIANTS[name], **kwargs})  # type: ignore[arg-type]

    def features(self, images: Tensor) -> Tensor:
        """Scale-pooled features ``[B, D]``.

        Raises:
            ValueError: wrong channel count or non-finite input.
        """
        if images.ndim != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f'expected images of shape [B, {self.in_channels}, H, W], '
                f'got {tuple(images.shape)}'
            )
        return self.backbone(images)

    def forward(self, images: Tensor) -> Tensor:
        """Logits ``[B, num_classes]``."""
        return self.head(self.features(images))
