"""ZELPHA's model: backbone, scale pooling, prototype head."""

from .backbone import ShallowCNN
from .prototype_head import PrototypeHead, logit_margin, prototype_margin
from .scale_pooling import ScalePooledBackbone
from .zelpha import VARIANTS, ZelphaModel

__all__ = (
    'VARIANTS',
    'PrototypeHead',
    'ScalePooledBackbone',
    'ShallowCNN',
    'ZelphaModel',
    'logit_margin',
    'prototype_margin',
)
