"""Checkpoint A: a picture that lets a person check the scale shift."""

from collections.abc import Sequence

import matplotlib

matplotlib.use('Agg')  # figures are written to files; no display is needed

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from .datamodules.scale_shift import DEFAULT_TEST_SCALES, check_scales
from .transforms import scale_shift

__all__ = ('plot_scale_shift',)


def _to_display(image: Tensor, lo: Tensor, hi: Tensor) -> np.ndarray:
    """``[C, H, W]`` float image to an ``[H, W, 3]`` array in [0, 1]."""
    image = image[:3] if image.shape[0] >= 3 else image[:1].expand(3, -1, -1)
    return ((image - lo) / (hi - lo + 1e-12)).clamp(0, 1).permute(1, 2, 0).numpy()


def plot_scale_shift(
    image: Tensor,
    scales: Sequence[float] = DEFAULT_TEST_SCALES,
    padding_mode: str = 'reflection',
    title: str | None = None,
) -> Figure:
    """Show one image at every scale, side by side and overlaid.

    Each panel draws, in the same colour for the same scale, the outline of where
    the original central half of the image (a ``H/2 x W/2`` box) lands after the
    shift: it must grow with ``s`` and stay centred. The last panel overlays all
    shifted images with transparency and all outlines, so a drift of the centre or
    a wrong factor is visible at a glance.

    Args:
        image: one ``[C, H, W]`` image (any value range; all panels share its
            min-max display range).
        scales: the scales to show.
        padding_mode: border fill for ``s < 1``.
        title: optional figure title.

    Returns:
        the figure.
    """
    scales = check_scales(scales)
    if image.ndim != 3:
        raise ValueError(f'image must be [C, H, W], got shape {tuple(image.shape)}')
    height, width = image.shape[-2:]
    batch = image.float()[None].expand(len(scales), -1, -1, -1)
    shifted = scale_shift(batch, torch.tensor(scales), padding_mode)
    colors = plt.get_cmap('viridis')(np.linspace(0, 0.9, len(scales)))

    fig, axes = plt.subplots(1, len(scales) + 1, figsize=(3 * (len(scales) + 1), 3.4))
    overlay = np.zeros((height, width, 3))
    for ax, s, img in zip(axes, scales, shifted):
        # One display range for all panels, so that only geometry differs.
        shown = _to_display(img, image.min(), image.max())
        overlay += shown / len(scales)
        ax.imshow(shown)
        ax.set_title(f's = {s:.2f}')
    axes[-1].imshow(overlay)
    axes[-1].set_title('overlay (mean)')
    for i, ax in enumerate(axes):
        # A scale's own panel shows its own box; the overlay shows them all.
        shown_scales = list(zip(scales, colors))
        if i < len(scales):
            shown_scales = [shown_scales[i]]
        for s, color in shown_scales:
            box_w, box_h = width / 2 * s, height / 2 * s
            ax.add_patch(
                Rectangle(
                    ((width - 1) / 2 - box_w / 2, (height - 1) / 2 - box_h / 2),
                    box_w,
                    box_h,
                    fill=False,
                    edgecolor=color,
                    linewidth=1.5,
                )
            )
        ax.axhline((height - 1) / 2, color='red', linewidth=0.6)
        ax.axvline((width - 1) / 2, color='red', linewidth=0.6)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        title or 'Scale shift about the centre: boxes = original central half at each s'
    )
    fig.tight_layout()
    return fig
