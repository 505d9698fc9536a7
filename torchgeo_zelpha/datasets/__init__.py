"""Scale-shift versions of TorchGeo's scene classification datasets."""

from .eurosat import ScaleShiftEuroSAT
from .splits import SPLITS, balanced_split
from .synthetic import write_synthetic_ucmerced
from .ucmerced import ScaleShiftUCMerced

__all__ = (
    'SPLITS',
    'ScaleShiftEuroSAT',
    'ScaleShiftUCMerced',
    'balanced_split',
    'write_synthetic_ucmerced',
)
