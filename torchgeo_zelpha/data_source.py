"""Find the UC Merced data, or fall back to the embedded synthetic scenes."""

import os
from dataclasses import dataclass
from pathlib import Path

from torchgeo.datasets import DatasetNotFoundError, UCMerced

from .datasets.synthetic import write_synthetic_ucmerced

__all__ = ('DataSource', 'resolve_ucmerced_root')


@dataclass(frozen=True)
class DataSource:
    """Where the main job's data comes from."""

    #: dataset root, as ``ScaleShiftUCMerced(root=...)`` takes it.
    root: Path
    #: ``'real'`` for UC Merced, ``'synthetic'`` for the embedded default.
    kind: str
    #: a sentence for the user.
    description: str


def resolve_ucmerced_root(
    root: str | os.PathLike[str],
    fallback_root: str | os.PathLike[str],
    download: bool = False,
    synthetic_images_per_class: int = 20,
) -> DataSource:
    """Use real UC Merced at ``root`` (downloading if asked), else synthetic scenes.

    Args:
        root: where the real UC Merced is (or is to be downloaded).
        fallback_root: where the synthetic scenes are written (once) if it is not.
        download: try TorchGeo's download when the data is missing.
        synthetic_images_per_class: size of the synthetic fallback.

    Returns:
        the data source to use.
    """
    root = Path(root)
    if (root / UCMerced.base_dir).is_dir():
        return DataSource(root, 'real', f'real UC Merced at {root}')
    reason = 'not found'
    if download:
        try:
            UCMerced(root=root, download=True)
            return DataSource(root, 'real', f'real UC Merced downloaded to {root}')
        except (OSError, RuntimeError, DatasetNotFoundError) as error:
            reason = f'download failed ({type(error).__name__}: {error})'
    fallback = Path(fallback_root)
    if not (fallback / UCMerced.base_dir).is_dir():
        write_synthetic_ucmerced(fallback, synthetic_images_per_class)
    return DataSource(
        fallback,
        'synthetic',
        f'UC Merced {reason} at {root}; using the embedded synthetic scenes '
        f'(21 classes by pattern and palette, UC Merced layout) at {fallback}',
    )
