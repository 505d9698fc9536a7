"""ScaleShiftBenchmark: accuracy, robust accuracy and margins across scales."""

from .results import BenchmarkResult, ModelResult
from .scale_shift_benchmark import ScaleShiftBenchmark

__all__ = ('BenchmarkResult', 'ModelResult', 'ScaleShiftBenchmark')
