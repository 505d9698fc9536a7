"""The embedded default: procedurally generated scenes in UC Merced's layout.

Used when the real UC Merced is not at the configured root and cannot be
downloaded, so that the main job always runs. Classes differ by *structure*
(pattern type and palette), never by object size: every pattern's period and
every object's size are drawn from the same wide range in every class, so a
scale shift never changes the true label.
"""

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from torchgeo.datasets import UCMerced

__all__ = (
    'PALETTES',
    'PATTERNS',
    'UCMERCED_CLASSES',
    'make_synthetic_scene',
    'write_synthetic_ucmerced',
)

#: UC Merced's class folder names, in label order.
UCMERCED_CLASSES = (
    'agricultural',
    'airplane',
    'baseballdiamond',
    'beach',
    'buildings',
    'chaparral',
    'denseresidential',
    'forest',
    'freeway',
    'golfcourse',
    'harbor',
    'intersection',
    'mediumresidential',
    'mobilehomepark',
    'overpass',
    'parkinglot',
    'river',
    'runway',
    'sparseresidential',
    'storagetanks',
    'tenniscourt',
)

#: The 7 structures; with 3 palettes they give UC Merced's 21 classes.
PATTERNS = ('stripes', 'diagonal', 'checker', 'dots', 'rings', 'crosses', 'blobs')

#: The 3 palettes: (background, foreground) RGB colours.
PALETTES = (
    ((70, 110, 50), (150, 120, 80)),  # vegetation / soil
    ((110, 110, 115), (220, 215, 205)),  # asphalt / roofs
    ((40, 80, 120), (200, 185, 140)),  # water / sand
)

#: Wide range of pattern periods and object sizes, shared by all classes (pixels).
PERIOD_RANGE = (14.0, 48.0)


def make_synthetic_scene(label: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw one ``size x size x 3`` uint8 scene of class ``label`` (0..20)."""
    pattern = PATTERNS[label % len(PATTERNS)]
    background, foreground = (np.array(c, dtype=float) for c in PALETTES[label // 7])
    period = rng.uniform(*PERIOD_RANGE)
    y, x = np.mgrid[0:size, 0:size].astype(float)
    angle = rng.uniform(-0.2, 0.2)
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    phase_u, phase_v = rng.uniform(0, period, size=2)
    fu, fv = (u + phase_u) % period / period, (v + phase_v) % period / period
    if pattern == 'stripes':
        mask = fu < 0.4
    elif pattern == 'diagonal':
        mask = ((u + v) / np.sqrt(2) + phase_u) % period / period < 0.4
    elif pattern == 'checker':
        mask = (fu < 0.5) ^ (fv < 0.5)
    elif pattern == 'dots':
        mask = (fu - 0.5) ** 2 + (fv - 0.5) ** 2 < 0.3**2
    elif pattern == 'rings':
        cy, cx = rng.uniform(0.3 * size, 0.7 * size, size=2)
        mask = np.hypot(x - cx, y - cy) % period / period < 0.4
    elif pattern == 'crosses':
        mask = ((np.abs(fu - 0.5) < 0.1) | (np.abs(fv - 0.5) < 0.1)) & (
            (np.abs(fu - 0.5) < 0.35) & (np.abs(fv - 0.5) < 0.35)
        )
    else:  # blobs: smooth random field thresholded, correlation length ~ period
        coarse = rng.normal(size=(int(size / period) + 2,) * 2)
        field = np.array(
            Image.fromarray(coarse.astype(np.float32)).resize(
                (size, size), Image.Resampling.BICUBIC
            )
        )
        mask = field > 0
    image = np.where(mask[..., None], foreground, background)
    image = image * rng.uniform(0.85, 1.15) + rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_synthetic_ucmerced(
    root: str | os.PathLike[str],
    images_per_class: int = 20,
    size: int = 256,
    seed: int = 0,
) -> Path:
    """Write the synthetic scenes under ``root`` in UC Merced's on-disk layout.

    Files are ``root/UCMerced_LandUse/Images/<class>/<class>NN.tif``, the classes
    are UC Merced's 21 names, so :class:`torchgeo.datasets.UCMerced` and
    :class:`~torchgeo_zelpha.datasets.ScaleShiftUCMerced` read them as they are.
    Images are written to a temporary folder that is renamed into place at the end,
    so an interrupted run never leaves a half-written dataset behind.

    Args:
        root: dataset root.
        images_per_class: images per class.
        size: image side in pixels.
        seed: random seed.

    Returns:
        the image folder.

    Raises:
        FileExistsError: if ``root`` already holds a UC Merced image folder.
    """
    final = Path(root) / UCMerced.base_dir
    if final.exists():
        raise FileExistsError(f'{final} already exists; not overwriting it')
    tmp = final.with_name(final.name + '.tmp')
    if tmp.exists():
        shutil.rmtree(tmp)
    rng = np.random.default_rng(seed)
    for label, cls in enumerate(UCMERCED_CLASSES):
        (tmp / cls).mkdir(parents=True)
        for i in range(images_per_class):
            scene = make_synthetic_scene(label, size, rng)
            Image.fromarray(scene).save(tmp / cls / f'{cls}{i:02d}.tif')
    tmp.rename(final)
    return final
