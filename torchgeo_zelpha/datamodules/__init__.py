"""TorchGeo datamodules with scale-shift augmentation and per-scale test sets."""

from .eurosat import ScaleShiftEuroSATDataModule
from .in_memory import InMemoryClassificationDataset
from .scale_shift import DEFAULT_TEST_SCALES, ScaleShiftDataModule, check_scales
from .ucmerced import ScaleShiftUCMercedDataModule

__all__ = (
    'DEFAULT_TEST_SCALES',
    'InMemoryClassificationDataset',
    'ScaleShiftDataModule',
    'ScaleShiftEuroSATDataModule',
    'ScaleShiftUCMercedDataModule',
    'check_scales',
)
