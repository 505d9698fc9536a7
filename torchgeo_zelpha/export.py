"""Write the splits and the scale-shifted test sets to image folders."""

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import torch
from rasterio.errors import NotGeoreferencedWarning
from torchgeo.datasets import NonGeoClassificationDataset

from .datamodules.in_memory import InMemoryClassificationDataset
from .datamodules.scale_shift import DEFAULT_TEST_SCALES, check_scales
from .io import atomic_directory, atomic_write_json
from .transforms import scale_shift

__all__ = ('export_scale_shift_splits',)

MANIFEST = 'manifest.json'


def _write_tif(path: Path, image: np.ndarray) -> None:
    """Write a ``[C, H, W]`` array as an (ungeoreferenced) GeoTIFF."""
    profile = {
        'driver': 'GTiff',
        'dtype': image.dtype.name,
        'count': image.shape[0],
        'height': image.shape[1],
        'width': image.shape[2],
    }
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', NotGeoreferencedWarning)
        with rasterio.open(path, 'w', **profile) as dst:
            dst.write(image)


def export_scale_shift_splits(
    dataset_class: type[NonGeoClassificationDataset],
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    name: str = 'uc_merced',
    scales: Sequence[float] = DEFAULT_TEST_SCALES,
    image_size: int | None = None,
    padding_mode: str = 'reflection',
    overwrite: bool = False,
    **dataset_kwargs: Any,
) -> Path:
    """Export train/val and one test folder per scale, with a manifest.

    Layout: ``OUT/NAME/{train,val}/<class>/<file>.tif`` and
    ``OUT/NAME/test/s0.70/<class>/<file>.tif`` for every scale, plus
    ``OUT/NAME/manifest.json`` (settings and one record per file). 8-bit sources
    are written as uint8, others as uint16.

    The export is idempotent (the same settings again return at once) and atomic:
    everything is written to a temporary folder renamed to ``OUT/NAME`` at the end,
    so no half-written folder is ever taken for a finished one.

    Args:
        dataset_class: a scale-shift dataset class (e.g.
            :class:`~torchgeo_zelpha.datasets.ScaleShiftUCMerced`).
        root: the dataset root.
        out: output folder.
        name: folder name under ``out``.
        scales: test scales.
        image_size: resize to this side before shifting (None: native size).
        padding_mode: border fill for ``s < 1``.
        overwrite: replace an export made with other settings.
        **dataset_kwargs: passed to ``dataset_class`` (``seed``, ``split_ratios``...).

    Returns:
        the export folder ``OUT/NAME``.

    Raises:
        FileExistsError: if ``OUT/NAME`` holds an export with other settings and
            ``overwrite`` is False.
    """
    scales = check_scales(scales)
    target = Path(out) / name
    settings = {
        'dataset': dataset_class.__name__,
        'root': str(Path(root).resolve()),
        'scales': list(scales),
        'image_size': image_size,
        'padding_mode': padding_mode,
        **{
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataset_kwargs.items()
        },
    }
    manifest_path = target / MANIFEST
    if manifest_path.exists():
        existing = json.loads(manifest_path.read_text())
        if existing.get('settings') == settings:
            return target
        if not overwrite:
            raise FileExistsError(
                f'{target} holds an export with other settings; pass overwrite=True '
                'to replace it'
            )

    records: list[dict[str, Any]] = []
    with atomic_directory(target) as tmp:
        for split in ('train', 'val', 'test'):
            ds = dataset_class(
                root=root, split=split, padding_mode=padding_mode, **dataset_kwargs
            )
            files = [os.path.basename(p) for p, _ in ds.samples]
            eight_bit = ds[0]['image'].max() <= 255
            data = InMemoryClassificationDataset.from_dataset(
                ds, image_size, torch.float32
            )
            folders = (
                {1.0: split}
                if split != 'test'
                else {s: f'test/s{s:.2f}' for s in scales}
            )
            for scale, folder in folders.items():
                for start in range(0, len(data), 64):
                    images = data.images[start : start + 64]
                    if scale != 1.0:
                        images = scale_shift(images, scale, padding_mode)
                    if eight_bit:
                        arrays = images.round().clamp(0, 255).to(torch.uint8).numpy()
                    else:
                        arrays = (
                            images.round().clamp(0, 65535).numpy().astype(np.uint16)
                        )
                    for k, array in enumerate(arrays):
                        i = start + k
                        cls = ds.classes[int(data.labels[i])]
                        rel = Path(folder) / cls / (Path(files[i]).stem + '.tif')
                        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                        _write_tif(tmp / rel, array)
                        records.append(
                            {
                                'path': str(rel),
                                'split': split,
                                'scale': scale,
                                'label': int(data.labels[i]),
                                'class': cls,
                                'source': files[i],
                            }
                        )
        atomic_write_json(
            tmp / MANIFEST,
            {'settings': settings, 'classes': list(ds.classes), 'files': records},
        )
    return target
