"""UC Merced scale-shift datamodule."""

from collections.abc import Sequence
from typing import Any

from ..datasets.ucmerced import ScaleShiftUCMerced
from .scale_shift import DEFAULT_TEST_SCALES, ScaleShiftDataModule

__all__ = ('ScaleShiftUCMercedDataModule',)


class ScaleShiftUCMercedDataModule(ScaleShiftDataModule):
    """UC Merced with seeded 60/20/20 splits, scale-shift augmentation and test sets.

    128 px input by default, sized for CPUs; pass ``image_size=256`` on a GPU.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        batch_size: int = 32,
        num_workers: int = 0,
        image_size: int | None = 128,
        test_scales: Sequence[float] = DEFAULT_TEST_SCALES,
        train_scale_range: tuple[float, float] | None = (0.9, 1.1),
        **kwargs: Any,
    ) -> None:
        """Initialize a new ScaleShiftUCMercedDataModule instance.

        Args:
            batch_size: mini-batch size.
            num_workers: data loader workers.
            image_size: model input side in pixels (None: 256, the native size).
            test_scales: one test set per scale.
            train_scale_range: range of the random training scale shift, or None.
            **kwargs: passed to :class:`ScaleShiftDataModule` (``flip``,
                ``color_jitter``, ``mean``, ``std``, ``padding_mode``) and to
                :class:`~torchgeo_zelpha.datasets.ScaleShiftUCMerced` (``root``,
                ``split_source``, ``split_ratios``, ``seed``, ``download``).
        """
        super().__init__(
            ScaleShiftUCMerced,
            batch_size,
            num_workers,
            image_size,
            test_scales,
            train_scale_range,
            value_scale=255.0,
            **kwargs,
        )
