"""Figures of a benchmark: accuracy and margin vs scale, margin histograms."""

import matplotlib

matplotlib.use('Agg')

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .results import BenchmarkResult

__all__ = (
    'MARKERS',
    'finish_accuracy_axes',
    'plot_accuracy_vs_scale',
    'plot_margin_histograms',
    'plot_margin_vs_scale',
)

MARKERS = 'osD^v<>ph*'


def finish_accuracy_axes(ax: Axes, title: str, legend_outside: bool = False) -> None:
    """Label and style an accuracy-vs-scale plot (s = 1.00 marked).

    Args:
        ax: the axes.
        title: the plot's title.
        legend_outside: put the legend right of the axes (for many curves).
    """
    ax.axvline(1.0, color='grey', linewidth=0.8, linestyle=':')
    ax.set_xlabel('scale s (zoom about the centre)')
    ax.set_ylabel('test accuracy (%)')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend_outside:
        ax.legend(fontsize=8, loc='center left', bbox_to_anchor=(1.02, 0.5))
    else:
        ax.legend(fontsize=8)
    ax.figure.tight_layout()


def plot_accuracy_vs_scale(result: BenchmarkResult) -> Figure:
    """Accuracy of every model at every scale, one curve per model."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (name, r) in enumerate(result.models.items()):
        acc = [100 * a for a in r.accuracy.values()]
        ax.plot(
            result.scales,
            acc,
            marker=MARKERS[i % len(MARKERS)],
            label=f'{name} (robust {100 * r.robust_accuracy:.1f}%)',
        )
    finish_accuracy_axes(ax, 'Accuracy vs scale')
    return fig


def plot_margin_vs_scale(result: BenchmarkResult) -> Figure:
    """Mean margin per scale with its 25-75 % band; one panel per margin kind."""
    kinds = sorted({r.margin_kind for r in result.models.values()})
    fig, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        for i, (name, r) in enumerate(result.models.items()):
            if r.margin_kind != kind:
                continue
            stats = r.margin_stats()
            mean = [stats[s]['mean'] for s in result.scales]
            line = ax.plot(
                result.scales, mean, marker=MARKERS[i % len(MARKERS)], label=name
            )
            ax.fill_between(
                result.scales,
                [stats[s]['q25'] for s in result.scales],
                [stats[s]['q75'] for s in result.scales],
                color=line[0].get_color(),
                alpha=0.15,
            )
        ax.axhline(0, color='red', linewidth=0.8)
        ax.set_xlabel('scale s')
        ax.set_ylabel(f'{kind} margin (mean, band: 25-75 %)')
        ax.set_title(f'{kind.capitalize()} margin vs scale')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_margin_histograms(result: BenchmarkResult, bins: int = 30) -> Figure:
    """Margin histograms, one panel per model, one outline per scale."""
    n = len(result.models)
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 3.2), squeeze=False)
    colors = plt.get_cmap('viridis')(np.linspace(0, 0.9, len(result.scales)))
    for ax, (name, r) in zip(axes[0], result.models.items()):
        margins = r.margins.float().numpy()
        edges = np.histogram_bin_edges(margins, bins=bins)
        for k, (s, color) in enumerate(zip(result.scales, colors)):
            ax.hist(
                margins[:, k],
                bins=edges,
                histtype='step',
                color=color,
                label=f's={s:.2f}',
            )
        ax.axvline(0, color='red', linewidth=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(f'{r.margin_kind} margin')
        ax.set_ylabel('images')
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig
