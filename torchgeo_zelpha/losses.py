"""ZELPHA's losses: prototype pull and push, and the Lipschitz penalty.

Full objective (training, after warm-up): ``CE + beta * L_proto + gamma * L_Lip``.
"""

import torch
from torch import Tensor

__all__ = (
    'inter_class_loss',
    'intra_class_loss',
    'lipschitz_penalty',
    'prototype_loss',
)


def intra_class_loss(z: Tensor, labels: Tensor, prototypes: Tensor) -> Tensor:
    """Pull: ``L_intra = mean_i ||z_i - mu_{y_i}||^2``.

    Args:
        z: ``[B, D]`` features.
        labels: ``[B]`` classes.
        prototypes: ``[C, D]``.
    """
    return (z - prototypes[labels]).pow(2).sum(dim=1).mean()


def inter_class_loss(prototypes: Tensor, margin: float) -> Tensor:
    """Push: ``L_inter = sum_{c != c'} max(0, m - ||mu_c - mu_c'||)^2``.

    The sum runs over ordered pairs (each unordered pair counts twice), as in the
    formula. Distances are computed from differences, with a tiny floor under the
    square root so that the gradient stays finite for coinciding prototypes.

    Args:
        prototypes: ``[C, D]``.
        margin: the separation ``m`` below which prototypes are pushed apart (>= 0).
    """
    if margin < 0:
        raise ValueError(f'margin must be >= 0, got {margin}')
    diff = prototypes[:, None, :] - prototypes[None, :, :]
    distances = (diff.pow(2).sum(dim=-1) + 1e-12).sqrt()
    off_diagonal = ~torch.eye(
        len(prototypes), dtype=torch.bool, device=prototypes.device
    )
    return (margin - distances[off_diagonal]).clamp(min=0).pow(2).sum()


def prototype_loss(
    z: Tensor,
    labels: Tensor,
    prototypes: Tensor,
    margin: float,
    lambda_intra: float = 1.0,
    lambda_inter: float = 1.0,
) -> Tensor:
    """``L_proto = lambda_intra * L_intra + lambda_inter * L_inter``."""
    return lambda_intra * intra_class_loss(z, labels, prototypes) + (
        lambda_inter * inter_class_loss(prototypes, margin)
    )


def lipschitz_penalty(layer_norms: Tensor, bound: float) -> Tensor:
    """``L_Lip = sum_l max(0, sigma_l - K)^2`` over per-layer operator norms.

    Args:
        layer_norms: ``[L]`` operator norms ``sigma_l``, differentiable in the
            weights (see :meth:`torchgeo_zelpha.lipschitz.LayerNormEstimator.norms`).
        bound: the per-layer bound ``K`` (> 0).
    """
    if bound <= 0:
        raise ValueError(f'the per-layer bound K must be > 0, got {bound}')
    return (layer_norms - bound).clamp(min=0).pow(2).sum()
