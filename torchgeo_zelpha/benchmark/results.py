"""Benchmark results: per-image correctness and margins, metrics and exports."""

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..io import atomic_write_json, atomic_write_text

__all__ = ('MARGIN_QUANTILES', 'BenchmarkResult', 'ModelResult')

MARGIN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class ModelResult:
    """One model's answers on every image at every scale.

    Attributes:
        predictions: ``[N, S]`` predicted classes.
        margins: ``[N, S]`` margins (prototype or logit margin, see ``margin_kind``).
        labels: ``[N]`` true classes.
        scales: the ``S`` scales.
        margin_kind: ``'prototype'`` or ``'logit'``.
        seconds: wall time of the model's forward passes.
    """

    predictions: Tensor
    margins: Tensor
    labels: Tensor
    scales: tuple[float, ...]
    margin_kind: str = 'logit'
    seconds: float = 0.0

    @property
    def correct(self) -> Tensor:
        """``[N, S]`` per-image correctness matrix."""
        return self.predictions == self.labels[:, None]

    @property
    def accuracy(self) -> dict[float, float]:
        """Accuracy at each scale."""
        acc = self.correct.float().mean(dim=0)
        return {s: float(a) for s, a in zip(self.scales, acc)}

    @property
    def robust_accuracy(self) -> float:
        """Fraction of images classified correctly at every scale."""
        return float(self.correct.all(dim=1).float().mean())

    @property
    def mean_accuracy(self) -> float:
        """Accuracy averaged over scales."""
        return sum(self.accuracy.values()) / len(self.scales)

    @property
    def worst_accuracy(self) -> float:
        """The lowest accuracy over scales."""
        return min(self.accuracy.values())

    def per_class_accuracy(self, num_classes: int) -> Tensor:
        """``[num_classes, S]`` accuracy per class and scale (NaN if absent)."""
        out = torch.full((num_classes, len(self.scales)), float('nan'))
        for c in range(num_classes):
            members = self.labels == c
            if members.any():
                out[c] = self.correct[members].float().mean(dim=0)
        return out

    def margin_stats(self) -> dict[float, dict[str, float]]:
        """Mean and quantiles of the margin at each scale."""
        q = torch.tensor(MARGIN_QUANTILES)
        stats = {}
        for k, s in enumerate(self.scales):
            m = self.margins[:, k].float()
            values = torch.quantile(m, q)
            stats[s] = {'mean': float(m.mean())} | {
                f'q{int(p * 100):02d}': float(v)
                for p, v in zip(MARGIN_QUANTILES, values)
            }
        return stats


@dataclass
class BenchmarkResult:
    """Results of several models on the same images and scales."""

    models: dict[str, ModelResult]
    scales: tuple[float, ...]
    classes: list[str]
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Everything but the per-image matrices, as plain JSON-ready data."""
        out: dict[str, Any] = {
            'scales': list(self.scales),
            'classes': self.classes,
            'settings': self.settings,
            'models': {},
        }
        for name, r in self.models.items():
            per_class = r.per_class_accuracy(len(self.classes))
            out['models'][name] = {
                'accuracy': {f'{s:.2f}': a for s, a in r.accuracy.items()},
                'robust_accuracy': r.robust_accuracy,
                'mean_accuracy': r.mean_accuracy,
                'worst_accuracy': r.worst_accuracy,
                'margin_kind': r.margin_kind,
                'margin': {f'{s:.2f}': v for s, v in r.margin_stats().items()},
                'per_class_accuracy': {
                    c: [None if v != v else float(v) for v in per_class[i]]
                    for i, c in enumerate(self.classes)
                },
                'seconds': r.seconds,
                'images': len(r.labels),
            }
        return out

    def to_markdown(self) -> str:
        """Accuracy-vs-scale table (percent), with robust, mean and worst accuracy."""
        head = ' | '.join(f's={s:.2f}' for s in self.scales)
        lines = [
            f'| model | {head} | robust | mean | worst | margin@1.00 |',
            '|---|' + '---|' * (len(self.scales) + 4),
        ]
        for name, r in self.models.items():
            acc = ' | '.join(f'{100 * a:.1f}' for a in r.accuracy.values())
            stats = r.margin_stats()
            ref = min(self.scales, key=lambda s: abs(s - 1.0))
            lines.append(
                f'| {name} | {acc} | {100 * r.robust_accuracy:.1f} | '
                f'{100 * r.mean_accuracy:.1f} | {100 * r.worst_accuracy:.1f} | '
                f'{stats[ref]["mean"]:.3g} ({r.margin_kind}) |'
            )
        return '\n'.join(lines) + '\n'

    def to_csv(self) -> str:
        """One row per model and scale: accuracy and margin statistics."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        keys = ['mean'] + [
            f'q{int(p * 100):02d}' for p in (0.05, 0.25, 0.5, 0.75, 0.95)
        ]
        writer.writerow(
            ['model', 'scale', 'accuracy', 'robust_accuracy', 'margin_kind']
            + [f'margin_{k}' for k in keys]
        )
        for name, r in self.models.items():
            stats = r.margin_stats()
            for s, a in r.accuracy.items():
                writer.writerow(
                    [
                        name,
                        f'{s:.2f}',
                        f'{a:.6f}',
                        f'{r.robust_accuracy:.6f}',
                        r.margin_kind,
                    ]
                    + [f'{stats[s][k]:.6f}' for k in keys]
                )
        return buffer.getvalue()

    def per_image_csv(self) -> str:
        """The per-image correctness matrix of every model."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            ['model', 'image', 'label'] + [f'correct_s{s:.2f}' for s in self.scales]
        )
        for name, r in self.models.items():
            for i, (label, row) in enumerate(
                zip(r.labels.tolist(), r.correct.int().tolist())
            ):
                writer.writerow([name, i, label, *row])
        return buffer.getvalue()

    def write(self, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
        """Write results.md, results.csv, results.json and per_image.csv.

        Each file is written atomically.
        """
        out = Path(out_dir)
        return {
            'markdown': atomic_write_text(out / 'results.md', self.to_markdown()),
            'csv': atomic_write_text(out / 'results.csv', self.to_csv()),
            'json': atomic_write_json(out / 'results.json', self.summary()),
            'per_image': atomic_write_text(out / 'per_image.csv', self.per_image_csv()),
        }

    @classmethod
    def load_summary(cls, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Read a ``results.json`` written by :meth:`write`."""
        return json.loads(Path(path).read_text())
