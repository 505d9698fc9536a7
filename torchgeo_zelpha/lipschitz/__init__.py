"""Lipschitz control (spectral normalisation) and measurement (Checkpoint C)."""

from .measure import (
    LayerNormEstimator,
    LipschitzBound,
    empirical_lipschitz,
    layer_lipschitz_constants,
    network_upper_bound,
)
from .operator_norm import conv_operator_norm, linear_map_norm
from .spectral_norm import (
    ConvOperatorNorm,
    apply_spectral_norm,
    check_spectral_norm,
    spectral_norm_status,
)

__all__ = (
    'ConvOperatorNorm',
    'LayerNormEstimator',
    'LipschitzBound',
    'apply_spectral_norm',
    'check_spectral_norm',
    'conv_operator_norm',
    'empirical_lipschitz',
    'layer_lipschitz_constants',
    'linear_map_norm',
    'network_upper_bound',
    'spectral_norm_status',
)
