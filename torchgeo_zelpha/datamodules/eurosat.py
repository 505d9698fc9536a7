"""EuroSAT scale-shift datamodule."""

from collections.abc import Sequence
from typing import Any

from ..datasets.eurosat import ScaleShiftEuroSAT
from .scale_shift import DEFAULT_TEST_SCALES, ScaleShiftDataModule

__all__ = ('ScaleShiftEuroSATDataModule',)


class ScaleShiftEuroSATDataModule(ScaleShiftDataModule):
    """EuroSAT (RGB by default) with seeded splits, scale-shift augmentation and tests.

    Sentinel-2 reflectances are divided by 10,000 before augmentation.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        batch_size: int = 64,
        num_workers: int = 0,
        image_size: int | None = 64,
        test_scales: Sequence[float] = DEFAULT_TEST_SCALES,
        train_scale_range: tuple[float, float] | None = (0.9, 1.1),
        **kwargs: Any,
    ) -> None:
        """Initialize a new ScaleShiftEuroSATDataModule instance.

        Args:
            batch_size: mini-batch size.
            num_workers: data loader workers.
            image_size: model input side in pixels (EuroSAT's native size is 64).
            test_scales: one test set per scale.
            train_scale_range: range of the random training scale shift, or None.
            **kwargs: passed to :class:`ScaleShiftDataModule` and to
                :class:`~torchgeo_zelpha.datasets.ScaleShiftEuroSAT` (``root``,
                ``bands``, ``split_source``, ``split_ratios``, ``seed``, ...).
        """
        super().__init__(
            ScaleShiftEuroSAT,
            batch_size,
            num_workers,
            image_size,
            test_scales,
            train_scale_range,
            value_scale=10000.0,
            **kwargs,
        )
