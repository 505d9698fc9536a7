"""torchgeo-zelpha: scale-robust remote-sensing scene classification."""

from .transforms import RandomScaleShift, ScaleShift, scale_shift

__version__ = '0.1.0'

__all__ = ('RandomScaleShift', 'ScaleShift', '__version__', 'scale_shift')
