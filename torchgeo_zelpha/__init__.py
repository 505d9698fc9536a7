"""torchgeo-zelpha: scale-robust remote-sensing scene classification."""

from .benchmark import BenchmarkResult, ScaleShiftBenchmark
from .transforms import RandomScaleShift, ScaleShift, scale_shift

__version__ = '0.1.0'

__all__ = (
    'BenchmarkResult',
    'RandomScaleShift',
    'ScaleShift',
    'ScaleShiftBenchmark',
    '__version__',
    'scale_shift',
)
