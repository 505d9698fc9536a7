"""Adapt anything that classifies images to one interface for the benchmark."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torch import Tensor
from torchgeo.tasks import Classification

from ..models.prototype_head import PrototypeHead, logit_margin, prototype_margin
from ..tasks.zelpha import ZelphaTask

__all__ = ('Classifier', 'ModelLike', 'as_classifier', 'load_checkpoint')

#: What :meth:`ScaleShiftBenchmark.evaluate` accepts for one model.
ModelLike = (
    ZelphaTask
    | Classification
    | nn.Module
    | str
    | os.PathLike[str]
    | tuple[nn.Module, Callable[[Tensor], Tensor]]
)


@dataclass
class Classifier:
    """A model with its preprocessing, seen by the benchmark.

    Attributes:
        module: maps a preprocessed ``[B, C, H, W]`` batch to ``[B, K]`` logits.
        preprocess: applied to each (scale-shifted) batch before ``module``, or
            None to use the data's own normalisation.
        margin_kind: ``'prototype'`` (ZELPHA's ``m(x)``) or ``'logit'``
            (top-1 minus top-2 logit).
    """

    module: nn.Module
    preprocess: Callable[[Tensor], Tensor] | None = None
    margin_kind: str = 'logit'

    def _prototype_head(self) -> PrototypeHead | None:
        model = getattr(self.module, 'model', self.module)
        head = getattr(model, 'head', None)
        return head if isinstance(head, PrototypeHead) else None

    @torch.no_grad()
    def __call__(self, images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(predictions, margins)`` for a preprocessed batch.

        Raises:
            ValueError: if the model's output is not ``[B, K]`` logits.
        """
        head = self._prototype_head()
        if head is not None:
            model = getattr(self.module, 'model', self.module)
            z = model.features(images)
            distances = head.squared_distances(z).clamp(min=0).sqrt()
            logits = -(distances**2)
            return logits.argmax(dim=1), prototype_margin(distances, labels)
        logits = self.module(images)
        if not isinstance(logits, Tensor) or logits.ndim != 2:
            shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits)
            raise ValueError(f'the model must return [B, K] logits, got {shape}')
        if logits.shape[0] != images.shape[0]:
            raise ValueError(
                f'the model returned {logits.shape[0]} rows for '
                f'{images.shape[0]} images'
            )
        return logits.argmax(dim=1), logit_margin(logits, labels)

    def num_outputs(self, example: Tensor) -> int:
        """The number of logits the model returns for ``example``."""
        head = self._prototype_head()
        if head is not None:
            return head.num_classes
        with torch.no_grad():
            out = self.module(example)
        if not isinstance(out, Tensor) or out.ndim != 2:
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out)
            raise ValueError(f'the model must return [B, K] logits, got {shape}')
        return out.shape[1]


def load_checkpoint(path: str | os.PathLike[str]) -> ZelphaTask | Classification:
    """Load a Lightning checkpoint of a ZelphaTask or a TorchGeo ``Classification``.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if the file is not a readable checkpoint of either task.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        checkpoint: dict[str, Any] = torch.load(
            path, map_location='cpu', weights_only=False
        )
        keys = checkpoint['state_dict'].keys()
    except Exception as error:
        raise ValueError(f'unreadable checkpoint {path}: {error}') from error
    task_class: type[ZelphaTask] | type[Classification] = (
        ZelphaTask
        if any(k.startswith('model.backbone.') for k in keys)
        else Classification
    )
    try:
        return task_class.load_from_checkpoint(path, map_location='cpu')
    except Exception as error:
        raise ValueError(
            f'{path} is not a checkpoint of {task_class.__name__}: {error}'
        ) from error


def as_classifier(model: ModelLike) -> Classifier:
    """Wrap a task, checkpoint path, module or ``(module, preprocess)`` pair.

    Raises:
        TypeError: for anything else.
    """
    preprocess = None
    if isinstance(model, str | os.PathLike):
        model = load_checkpoint(model)
    if isinstance(model, tuple):
        if len(model) != 2 or not callable(model[1]):
            raise TypeError('a tuple model must be (nn.Module, preprocess callable)')
        model, preprocess = model
    if not isinstance(model, nn.Module):
        raise TypeError(
            f'a model must be a ZelphaTask, a TorchGeo Classification, an nn.Module, '
            f'a checkpoint path or (module, preprocess), got {type(model).__name__}'
        )
    model.eval()
    classifier = Classifier(model, preprocess)
    if classifier._prototype_head() is not None:
        classifier.margin_kind = 'prototype'
    return classifier
