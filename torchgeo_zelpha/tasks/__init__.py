"""ZELPHA as a TorchGeo task."""

from .schedule import LossSchedule, LossWatch
from .zelpha import ZelphaTask

__all__ = ('LossSchedule', 'LossWatch', 'ZelphaTask')
