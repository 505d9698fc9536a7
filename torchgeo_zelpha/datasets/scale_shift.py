"""What TorchGeo's classification datasets gain here: seeded splits and a scale."""

import math
import os
from collections.abc import Sequence
from typing import Literal

import torch
from torchgeo.datasets.utils import Sample

from ..transforms import PADDING_MODES, scale_shift
from .splits import SPLITS, balanced_split, check_split_ratios

__all__ = ('ScaleShiftClassificationMixin', 'SplitSource')

#: ``'seeded'``: this package's per-class balanced split; ``'torchgeo'``: the split
#: files TorchGeo downloads next to the data.
SplitSource = Literal['seeded', 'torchgeo']


class ScaleShiftClassificationMixin:
    """Seeded balanced splits and a deterministic scale shift for ImageFolder datasets.

    Mixed into subclasses of TorchGeo's
    :class:`~torchgeo.datasets.NonGeoClassificationDataset`; the subclass calls
    :meth:`_check_scale_shift_args` first and :meth:`_keep_split` after the image
    folder was scanned.
    """

    samples: list[tuple[str, int]]
    imgs: list[tuple[str, int]]
    targets: list[int]

    def _check_scale_shift_args(
        self,
        split: str,
        scale: float,
        split_source: str,
        split_ratios: Sequence[float],
        padding_mode: str,
    ) -> None:
        """Validate and store the arguments this mixin adds."""
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if not isinstance(scale, int | float) or not math.isfinite(scale) or scale <= 0:
            raise ValueError(f'scale must be a finite number > 0, got {scale!r}')
        if split_source not in ('seeded', 'torchgeo'):
            raise ValueError(
                f"split_source must be 'seeded' or 'torchgeo', got {split_source!r}"
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f'padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}'
            )
        self.split = split
        self.scale = float(scale)
        self.split_source = split_source
        self.split_ratios = check_split_ratios(split_ratios)
        self.padding_mode = padding_mode

    def _keep_split(self, seed: int) -> None:
        """Keep only this split's files of the scanned folder (seeded mode).

        The split is computed on file names sorted within their class, so it does
        not depend on the order in which the file system lists them.
        """
        order = sorted(
            range(len(self.samples)),
            key=lambda i: (self.samples[i][1], os.path.basename(self.samples[i][0])),
        )
        labels = [self.samples[i][1] for i in order]
        chosen = balanced_split(labels, self.split_ratios, seed)[self.split]
        self.samples = [self.samples[order[i]] for i in chosen]
        self.imgs = self.samples
        self.targets = [label for _, label in self.samples]
        self.seed = seed

    def _shift(self, sample: Sample) -> Sample:
        """Apply this dataset's scale shift to ``sample['image']`` and record it."""
        if self.scale != 1.0:
            image = sample['image'].float().unsqueeze(0)
            sample['image'] = scale_shift(image, self.scale, self.padding_mode)[0]
        sample['scale'] = torch.tensor(self.scale)
        return sample
