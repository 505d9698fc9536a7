"""Prototype head and margins: logits are negative squared distances to prototypes."""

import math

import torch
import torch.nn as nn
from torch import Tensor

__all__ = ('PrototypeHead', 'logit_margin', 'prototype_margin')


def _check_features(z: Tensor, feature_dim: int) -> None:
    if z.ndim != 2 or z.shape[1] != feature_dim:
        raise ValueError(
            f'expected features of shape [B, {feature_dim}], got {tuple(z.shape)}'
        )


class PrototypeHead(nn.Module):
    """One learnable prototype ``mu_c`` per class; ``logit_c(z) = -tau ||z - mu_c||^2``.

    Theory, condition 3 (prototype margin): the class is the nearest prototype,
    so the prediction stays correct while the margin
    ``m(x) = min_{c != y} ||z - mu_c|| - ||z - mu_y||`` is positive.

    ``tau > 0`` is a (by default learnable) inverse temperature. It changes neither
    the predicted class nor the margin ``m(x)``, only how sharply cross-entropy
    scores the distances: with spectrally normalised layers the features, and so
    their squared distances, are of order one, and ``tau = 1`` would leave the
    softmax over 21 classes close to uniform (cross-entropy near ``ln 21``).
    ``logit_scale=1, learn_scale=False`` gives exactly ``-||z - mu_c||^2``.
    """

    #: Target of ``tau * mean_{c != c'} ||mu_c - mu_c'||^2`` after a reset.
    LOGIT_SPREAD = 10.0

    def __init__(
        self,
        num_classes: int,
        feature_dim: int,
        logit_scale: float = 10.0,
        learn_scale: bool = True,
        init_std: float = 0.0,
    ) -> None:
        """Initialize a new PrototypeHead.

        Args:
            num_classes: number of classes C (>= 2).
            feature_dim: feature size D.
            logit_scale: initial inverse temperature tau (> 0).
            learn_scale: learn tau (as ``log tau``) with the other weights.
            init_std: standard deviation of the initial prototypes (``0``: all
                at the origin, so every class starts with the same logit).

        Raises:
            ValueError: if ``num_classes < 2``, ``feature_dim < 1``,
                ``logit_scale <= 0`` or ``init_std < 0``.
        """
        super().__init__()
        if num_classes < 2 or feature_dim < 1:
            raise ValueError(
                f'need num_classes >= 2 and feature_dim >= 1, got {num_classes}, '
                f'{feature_dim}'
            )
        if not logit_scale > 0:
            raise ValueError(f'logit_scale must be > 0, got {logit_scale}')
        if init_std < 0:
            raise ValueError(f'init_std must be >= 0, got {init_std}')
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        self.prototypes = nn.Parameter(torch.randn(num_classes, feature_dim) * init_std)
        log_scale = torch.tensor(math.log(logit_scale))
        if learn_scale:
            self.log_scale = nn.Parameter(log_scale)
        else:
            self.register_buffer('log_scale', log_scale)

    def squared_distances(self, z: Tensor) -> Tensor:
        """``||z_i - mu_c||^2`` as ``[B, C]``.

        Computed from the differences, not as ``|z|^2 - 2 z.mu + |mu|^2``, which
        cancels catastrophically (and can go negative) when ``z`` is near a prototype.
        """
        _check_features(z, self.feature_dim)
        return (z[:, None, :] - self.prototypes[None]).pow(2).sum(dim=-1)

    def forward(self, z: Tensor) -> Tensor:
        """Logits ``-tau ||z - mu_c||^2``, ``[B, C]``."""
        return -self.log_scale.exp() * self.squared_distances(z)

    @torch.no_grad()
    def reset_prototypes(
        self, class_means: Tensor, calibrate_scale: bool = True
    ) -> None:
        """Set the prototypes to given class means ``[C, D]``.

        With ``calibrate_scale`` (and a learnable ``tau``), ``tau`` is also set so
        that ``tau`` times the mean squared distance between prototypes is
        :attr:`LOGIT_SPREAD`: the softmax then starts equally sharp whatever the
        scale of the features, which spectral normalisation makes small.

        Raises:
            ValueError: if the shape is wrong or the means are not finite.
        """
        if class_means.shape != self.prototypes.shape:
            raise ValueError(
                f'class_means must have shape {tuple(self.prototypes.shape)}, '
                f'got {tuple(class_means.shape)}'
            )
        if not bool(torch.isfinite(class_means).all()):
            raise ValueError('class_means holds NaN or inf')
        self.prototypes.copy_(class_means)
        if calibrate_scale and isinstance(self.log_scale, nn.Parameter):
            spread = torch.pdist(class_means.float()).pow(2).mean()
            if spread > 0:
                self.log_scale.fill_(math.log(self.LOGIT_SPREAD / float(spread)))


def prototype_margin(distances: Tensor, labels: Tensor) -> Tensor:
    """Per-sample margin ``m(x) = min_{c != y} (||z - mu_c|| - ||z - mu_y||)``.

    ``m`` is 2-Lipschitz in ``z`` (each distance is 1-Lipschitz), so with a feature
    map of Lipschitz constant ``L`` the margin moves by at most ``2 L ||dx||``.

    Args:
        distances: ``[B, C]`` Euclidean (not squared) distances to the prototypes.
        labels: ``[B]`` true classes.

    Returns:
        ``[B]`` margins; positive exactly when the nearest prototype is the true one.
    """
    true = distances.gather(1, labels[:, None])
    others = distances.scatter(1, labels[:, None], float('inf'))
    return (others.amin(dim=1, keepdim=True) - true)[:, 0]


def logit_margin(logits: Tensor, labels: Tensor) -> Tensor:
    """Logit margin ``logit_y - max_{c != y} logit_c``, ``[B]`` (any classifier).

    Raises:
        ValueError: if ``logits`` is not ``[B, C]`` with ``C >= 2`` or labels mismatch.
    """
    if logits.ndim != 2 or logits.shape[1] < 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f'expected logits [B, C>=2] and labels [B], got {tuple(logits.shape)} '
            f'and {tuple(labels.shape)}'
        )
    true = logits.gather(1, labels[:, None])
    others = logits.scatter(1, labels[:, None], float('-inf'))
    return (true - others.amax(dim=1, keepdim=True))[:, 0]
