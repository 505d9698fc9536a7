"""EuroSAT with seeded splits, RGB by default, and a deterministic scale shift."""

import os
from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torchgeo.datasets import DatasetNotFoundError, EuroSAT, NonGeoClassificationDataset
from torchgeo.datasets.utils import (
    Path,
    Sample,
    download_and_extract_archive,
    extract_archive,
    rasterio_loader,
)

from .scale_shift import ScaleShiftClassificationMixin, SplitSource

__all__ = ('ScaleShiftEuroSAT',)


class ScaleShiftEuroSAT(ScaleShiftClassificationMixin, EuroSAT):
    """EuroSAT (Sentinel-2, 10 classes, 64 x 64), every image zoomed by ``scale``.

    RGB bands (B04, B03, B02) by default; any subset of the 13 bands is allowed.
    Everything :class:`torchgeo.datasets.EuroSAT` offers keeps working; added are
    ``scale`` (recorded as ``sample['scale']``) and the seeded per-class balanced
    split (``split_source='seeded'``, default), which needs no split files.
    ``split_source='torchgeo'`` reads TorchGeo's split files instead.

    If you use this dataset in your research, please cite:

    * https://ieeexplore.ieee.org/document/8736785

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        root: Path = 'data',
        split: Literal['train', 'val', 'test'] = 'train',
        scale: float = 1.0,
        bands: Sequence[str] = EuroSAT.rgb_bands,
        split_source: SplitSource = 'seeded',
        split_ratios: Sequence[float] = (0.6, 0.2, 0.2),
        seed: int = 0,
        padding_mode: str = 'reflection',
        transforms: Callable[[Sample], Sample] | None = None,
        download: bool = False,
        checksum: bool = False,
    ) -> None:
        """Initialize a new ScaleShiftEuroSAT instance.

        Args:
            root: root directory where the dataset can be found.
            split: one of ``'train'``, ``'val'``, ``'test'``.
            scale: zoom factor (> 0) applied to every image.
            bands: band names to load (RGB by default).
            split_source: ``'seeded'`` or ``'torchgeo'`` (TorchGeo's split files).
            split_ratios: ``(train, val, test)`` fractions for the seeded split.
            seed: seed of the seeded split.
            padding_mode: border fill for ``scale < 1``.
            transforms: a function/transform applied to each sample dict.
            download: if True, download the dataset.
            checksum: if True, verify the checksum of the downloaded files.

        Raises:
            DatasetNotFoundError: if the dataset is not found and *download* is False.
            ValueError: if an argument (or a band name) is invalid.
        """
        self._check_scale_shift_args(
            split, scale, split_source, split_ratios, padding_mode
        )
        if split_source == 'torchgeo':
            EuroSAT.__init__(self, root, split, bands, transforms, download, checksum)
            return

        self.root = root
        self.tg_transforms = transforms
        self.download = download
        self.checksum = checksum
        self._validate_bands(bands)
        self.bands = bands
        self.band_indices = torch.tensor(
            [self.all_band_names.index(b) for b in bands]
        ).long()
        self._verify_images()
        NonGeoClassificationDataset.__init__(
            self,
            root=os.path.join(root, self.base_dir),
            transforms=transforms,
            loader=rasterio_loader,
        )
        self._keep_split(seed)

    def _verify_images(self) -> None:
        """Find (or extract, or download) the images; split files are not needed."""
        if os.path.isdir(os.path.join(self.root, self.base_dir)):
            return
        zipfile = os.path.join(self.root, self.filename)
        if os.path.isfile(zipfile):
            extract_archive(zipfile)
        elif self.download:
            download_and_extract_archive(
                self.url + self.filename,
                self.root,
                sha256=self.sha256 if self.checksum else None,
            )
        else:
            raise DatasetNotFoundError(self)

    def __getitem__(self, index: int) -> Sample:
        """Return sample ``index``: float ``image``, ``label`` and ``scale``."""
        image, label = self._load_image(index)
        image = torch.index_select(image, dim=0, index=self.band_indices).float()
        sample = self._shift({'image': image, 'label': label})
        if self.tg_transforms is not None:
            sample = self.tg_transforms(sample)
        return sample
