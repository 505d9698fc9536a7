"""UC Merced Land Use with seeded splits and a deterministic scale shift."""

import os
from collections.abc import Callable, Sequence
from typing import Literal

from torchgeo.datasets import NonGeoClassificationDataset, UCMerced
from torchgeo.datasets.utils import Path, Sample

from .scale_shift import ScaleShiftClassificationMixin, SplitSource

__all__ = ('ScaleShiftUCMerced',)


class ScaleShiftUCMerced(ScaleShiftClassificationMixin, UCMerced):
    """UC Merced Land Use, every image zoomed about its centre by ``scale``.

    Everything :class:`torchgeo.datasets.UCMerced` offers keeps working (``root``,
    ``download``, ``checksum``, ``transforms``, ``plot``, ``len``, ``ds1 + ds2``,
    :class:`~torchgeo.datasets.DatasetNotFoundError` when the data is missing).
    Added:

    * ``scale``: the zoom factor applied to every sample (see
      :func:`torchgeo_zelpha.transforms.scale_shift`), recorded as ``sample['scale']``;
    * ``split_source='seeded'`` (default): a per-class balanced random split with
      ``split_ratios`` (60/20/20 by default: 60/20/20 images per class) and ``seed``,
      which needs no split files; ``'torchgeo'`` reads TorchGeo's split files.

    The 44 images that are not 256 x 256 are resized to 256 x 256, as TorchGeo does.

    If you use this dataset in your research, please cite:

    * https://dl.acm.org/doi/10.1145/1869790.1869829

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        root: Path = 'data',
        split: Literal['train', 'val', 'test'] = 'train',
        scale: float = 1.0,
        split_source: SplitSource = 'seeded',
        split_ratios: Sequence[float] = (0.6, 0.2, 0.2),
        seed: int = 0,
        padding_mode: str = 'reflection',
        transforms: Callable[[Sample], Sample] | None = None,
        download: bool = False,
        checksum: bool = False,
    ) -> None:
        """Initialize a new ScaleShiftUCMerced instance.

        Args:
            root: root directory where the dataset can be found.
            split: one of ``'train'``, ``'val'``, ``'test'``.
            scale: zoom factor (> 0) applied to every image.
            split_source: ``'seeded'`` or ``'torchgeo'`` (TorchGeo's split files).
            split_ratios: ``(train, val, test)`` fractions for the seeded split.
            seed: seed of the seeded split.
            padding_mode: border fill for ``scale < 1``.
            transforms: a function/transform applied to each sample dict.
            download: if True, download the dataset (and TorchGeo's split files).
            checksum: if True, verify the checksum of the downloaded files.

        Raises:
            DatasetNotFoundError: if the dataset is not found and *download* is False.
            FileNotFoundError: if ``split_source='torchgeo'`` and the split file is
                missing.
            ValueError: if an argument is invalid.
        """
        self._check_scale_shift_args(
            split, scale, split_source, split_ratios, padding_mode
        )
        if split_source == 'torchgeo':
            split_file = os.path.join(root, self.split_filenames[split])
            if not download and not os.path.isfile(split_file):
                raise FileNotFoundError(
                    f"split_source='torchgeo' needs the split file {split_file}; "
                    "use download=True or split_source='seeded'"
                )
            UCMerced.__init__(self, root, split, transforms, download, checksum)
            return

        self.root = root
        self.transforms = transforms
        self.download = download
        self.checksum = checksum
        self._verify()
        NonGeoClassificationDataset.__init__(
            self, root=os.path.join(root, self.base_dir), transforms=transforms
        )
        self._keep_split(seed)

    def __getitem__(self, index: int) -> Sample:
        """Return sample ``index``: float ``image``, ``label`` and ``scale``."""
        image, label = self._load_image(index)
        sample = self._shift({'image': image, 'label': label})
        if self.tg_transforms is not None:
            sample = self.tg_transforms(sample)
        return sample
