"""A TorchGeo datamodule with scale-shift augmentation and per-scale test sets."""

import math
from collections.abc import Sequence
from typing import Any

import kornia.augmentation as K
import torch
from torch import Tensor
from torch.utils.data import DataLoader
from torchgeo.datamodules import NonGeoDataModule
from torchgeo.datasets import NonGeoDataset
from torchgeo.datasets.utils import Sample

from ..transforms import PADDING_MODES, RandomScaleShift, scale_shift
from .in_memory import InMemoryClassificationDataset

__all__ = ('DEFAULT_TEST_SCALES', 'ScaleShiftDataModule', 'check_scales')

#: The scales of the test sets: the benchmark's range of ground sampling distances.
DEFAULT_TEST_SCALES = (0.70, 0.85, 1.00, 1.15, 1.30)


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """Validate a non-empty sequence of finite scales > 0.

    Raises:
        ValueError: if ``scales`` is empty or holds a scale that is not finite > 0.
    """
    scales = tuple(float(s) for s in scales)
    if not scales:
        raise ValueError('scales must not be empty')
    bad = [s for s in scales if not math.isfinite(s) or s <= 0]
    if bad:
        raise ValueError(f'every scale must be finite and > 0, got {bad}')
    return scales


class ScaleShiftDataModule(NonGeoDataModule):
    """Datamodule for scale-shift classification: train, val and one test set per scale.

    * Each split is decoded once and held in memory
      (:class:`~torchgeo_zelpha.datamodules.InMemoryClassificationDataset`), resized
      to ``image_size``; all augmentation runs batched on the device, so loading is
      never the bottleneck on a few CPU cores.
    * Train augmentation: horizontal flip, mild colour jitter (RGB only),
      :class:`~torchgeo_zelpha.transforms.RandomScaleShift` in
      ``train_scale_range`` (None switches it off), then normalisation.
    * Normalisation by the train split's per-channel mean and std, computed once and
      cached on the datamodule (or given as ``mean``/``std``).
    * Test: one dataloader per scale in ``test_scales``, made from the same decoded
      images; each batch carries ``batch['scale']``, so Lightning's ``test``
      reports accuracy per scale.
    """

    def __init__(
        self,
        dataset_class: type[NonGeoDataset],
        batch_size: int = 32,
        num_workers: int = 0,
        image_size: int | None = 128,
        test_scales: Sequence[float] = DEFAULT_TEST_SCALES,
        train_scale_range: tuple[float, float] | None = (0.9, 1.1),
        flip: bool = True,
        color_jitter: float = 0.1,
        value_scale: float = 255.0,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        padding_mode: str = 'reflection',
        **kwargs: Any,
    ) -> None:
        """Initialize a new ScaleShiftDataModule instance.

        Args:
            dataset_class: a dataset taking ``split`` and ``scale`` arguments.
            batch_size: mini-batch size.
            num_workers: data loader workers (0 is fastest for in-memory data).
            image_size: side of the (square) model input, or None for the native size.
            test_scales: one test set per scale.
            train_scale_range: range of the random training scale shift, or None.
            flip: random horizontal flips in training.
            color_jitter: strength of brightness/contrast/saturation jitter (0: off).
            value_scale: raw values are divided by this before augmentation
                (255 for 8-bit images, 10000 for Sentinel-2 reflectance).
            mean: per-channel mean after ``value_scale`` (default: train split's).
            std: per-channel std after ``value_scale`` (default: train split's).
            padding_mode: border fill of every scale shift.
            **kwargs: passed to ``dataset_class`` (``root``, ``seed``, ...).

        Raises:
            ValueError: if an argument is invalid.
        """
        super().__init__(dataset_class, batch_size, num_workers, **kwargs)
        if image_size is not None and image_size < 8:
            raise ValueError(f'image_size must be >= 8 pixels, got {image_size}')
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f'padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}'
            )
        if (mean is None) != (std is None):
            raise ValueError('give both mean and std, or neither')
        if std is not None and min(std) <= 0:
            raise ValueError(f'std must be > 0, got {std}')
        self.image_size = image_size
        self.test_scales = check_scales(test_scales)
        self.train_scale_range = train_scale_range
        self.flip = flip
        self.color_jitter = color_jitter
        self.value_scale = value_scale
        self.padding_mode = padding_mode
        self.kwargs['padding_mode'] = padding_mode
        self._given_stats = mean is not None
        if mean is not None and std is not None:
            self.mean, self.std = torch.tensor(mean), torch.tensor(std)
        self._stats_ready = self._given_stats

    def _load(self, split: str) -> InMemoryClassificationDataset:
        """Decode one split (unshifted) into memory."""
        dataset = self.dataset_class(split=split, scale=1.0, **self.kwargs)  # type: ignore[call-arg]
        # 8-bit sources (value_scale 255) are kept as uint8: 4x less memory.
        dtype = torch.uint8 if self.value_scale == 255 else torch.float16
        return InMemoryClassificationDataset.from_dataset(
            dataset, self.image_size, dtype
        )

    def _compute_stats(self, train: InMemoryClassificationDataset) -> None:
        """Per-channel mean and std of the train split, after ``value_scale``."""
        sums = torch.zeros(train.images.shape[1], dtype=torch.float64)
        squares = torch.zeros_like(sums)
        for chunk in train.images.split(256):
            x = chunk.double() / self.value_scale
            sums += x.sum(dim=(0, 2, 3))
            squares += (x**2).sum(dim=(0, 2, 3))
        count = train.images.numel() / train.images.shape[1]
        mean = sums / count
        std = (squares / count - mean**2).clamp(min=1e-12).sqrt()
        self.mean, self.std = mean.float(), std.float()
        self._stats_ready = True

    def _build_augmentations(self, channels: int) -> None:
        """Make the train, eval and test augmentation pipelines."""
        normalize = K.Normalize(mean=self.mean, std=self.std)
        train: list[Any] = []
        if self.flip:
            train.append(K.RandomHorizontalFlip())
        if self.color_jitter > 0 and channels == 3:
            c = self.color_jitter
            train.append(K.ColorJiggle(brightness=c, contrast=c, saturation=c, p=0.8))
        if self.train_scale_range is not None:
            train.append(
                RandomScaleShift(self.train_scale_range, padding_mode=self.padding_mode)
            )
        self.train_aug = K.AugmentationSequential(
            *train, normalize, data_keys=None, keepdim=True
        )
        self.aug = K.AugmentationSequential(normalize, data_keys=None, keepdim=True)

    def setup(self, stage: str) -> None:
        """Decode the splits that ``stage`` needs (once) and build the augmentations.

        Args:
            stage: ``'fit'``, ``'validate'``, ``'test'`` or ``'predict'``.
        """
        if stage == 'fit' and self.train_dataset is None:
            self.train_dataset = self._load('train')
        if stage in ('fit', 'validate') and self.val_dataset is None:
            self.val_dataset = self._load('val')
        if stage in ('test', 'predict') and self.test_dataset is None:
            self.test_dataset = self._load('test')
            self.predict_dataset = self.test_dataset
        if not self._stats_ready:
            train = self.train_dataset or self._load('train')
            self._compute_stats(train)  # type: ignore[arg-type]
        loaded = self.train_dataset or self.val_dataset or self.test_dataset
        self._build_augmentations(loaded.images.shape[1])  # type: ignore[union-attr]

    def test_dataloader(self) -> list[DataLoader[Sample]]:  # type: ignore[override]
        """One dataloader per test scale, over the same decoded test images."""
        return [self._dataloader_factory('test') for _ in self.test_scales]

    def shift_to_scale(self, batch: Sample, scale: float) -> Sample:
        """Zoom ``batch['image']`` (float, after ``value_scale``) by ``scale``."""
        batch['image'] = scale_shift(batch['image'], scale, self.padding_mode)
        batch['scale'] = torch.full(
            (batch['image'].shape[0],), scale, device=batch['image'].device
        )
        return batch

    def on_after_batch_transfer(self, batch: Sample, dataloader_idx: int) -> Sample:
        """Convert to float, shift test batches to their scale, then augment.

        Args:
            batch: a batch of ``{'image', 'label', 'index'}``.
            dataloader_idx: the test dataloader's index, i.e. its scale.

        Returns:
            the augmented batch.
        """
        image: Tensor = batch['image']
        batch['image'] = image.float() / self.value_scale
        if self.trainer is not None and self.trainer.testing:
            batch = self.shift_to_scale(batch, self.test_scales[dataloader_idx])
        return super().on_after_batch_transfer(batch, dataloader_idx)

    def normalize(self, images: Tensor) -> Tensor:
        """Normalise float images (after ``value_scale``) with the train statistics."""
        mean = self.mean.to(images.device, images.dtype)[:, None, None]
        std = self.std.to(images.device, images.dtype)[:, None, None]
        return (images - mean) / std
