"""ShallowCNN: the small shared feature extractor run at every internal scale."""

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn as nn
from torch import Tensor

__all__ = ('Normalization', 'ShallowCNN')

#: ``'batch'``: BatchNorm2d (its eval-mode gain is counted in the Lipschitz bound);
#: ``'none'``: no normalisation (a bound with no data-dependent factor).
Normalization = Literal['batch', 'none']


class ShallowCNN(nn.Module):
    """A few conv blocks, global average pooling, and a linear map to ``feature_dim``.

    Each block is ``Conv2d(3x3) -> [BatchNorm2d] -> MaxPool2d(2) -> ReLU`` (the
    same function as ReLU before the pooling, since both are monotone, but the ReLU
    then touches a quarter of the values). The network is a plain chain
    (``self.layers``), so its Lipschitz constant is bounded by the product of its
    layers' constants (see :func:`torchgeo_zelpha.lipschitz.network_upper_bound`).
    """

    def __init__(
        self,
        in_channels: int = 3,
        feature_dim: int = 128,
        widths: Sequence[int] = (32, 64, 128, 256),
        norm: Normalization = 'batch',
    ) -> None:
        """Initialize a new ShallowCNN.

        Args:
            in_channels: input bands.
            feature_dim: output feature size D.
            widths: output channels of each conv block (its length is the depth).
            norm: ``'batch'`` or ``'none'``.

        Raises:
            ValueError: if an argument is invalid.
        """
        super().__init__()
        if in_channels < 1 or feature_dim < 1 or not widths or min(widths) < 1:
            raise ValueError(
                f'in_channels, feature_dim and widths must be positive, got '
                f'{in_channels}, {feature_dim}, {tuple(widths)}'
            )
        if norm not in ('batch', 'none'):
            raise ValueError(f"norm must be 'batch' or 'none', got {norm!r}")
        self.in_channels = in_channels
        self.feature_dim = feature_dim
        layers: list[nn.Module] = []
        channels = in_channels
        for width in widths:
            layers.append(nn.Conv2d(channels, width, 3, padding=1, bias=norm == 'none'))
            if norm == 'batch':
                layers.append(nn.BatchNorm2d(width))
            layers += [nn.MaxPool2d(2), nn.ReLU(inplace=True)]
            channels = width
        layers += [
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, feature_dim),
        ]
        self.layers = nn.Sequential(*layers)
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity='relu')
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        self.to(memory_format=torch.channels_last)

    def forward(self, images: Tensor) -> Tensor:
        """Map ``[B, C, H, W]`` images to ``[B, D]`` features.

        Raises:
            ValueError: if the input is not ``[B, in_channels, H, W]``.
        """
        if images.ndim != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f'expected images of shape [B, {self.in_channels}, H, W], '
                f'got {tuple(images.shape)}'
            )
        # channels_last lets oneDNN (CPU) and cuDNN (GPU) pick faster conv kernels:
        # ~1.6x on 2 CPU cores (benchmarks/throughput.py).
        return self.layers(images.contiguous(memory_format=torch.channels_last))
