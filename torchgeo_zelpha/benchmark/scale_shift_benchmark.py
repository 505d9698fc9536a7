"""ScaleShiftBenchmark: how classifiers hold up when the image scale changes."""

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from lightning.pytorch import LightningDataModule, Trainer
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..datamodules.in_memory import InMemoryClassificationDataset
from ..datamodules.scale_shift import (
    DEFAULT_TEST_SCALES,
    ScaleShiftDataModule,
    check_scales,
)
from ..io import atomic_save_figure
from ..transforms import scale_shift
from .classifiers import Classifier, ModelLike, as_classifier
from .lightning_module import ScaleShiftTestModule
from .plots import plot_accuracy_vs_scale, plot_margin_histograms, plot_margin_vs_scale
from .results import BenchmarkResult, ModelResult

__all__ = ('ScaleShiftBenchmark',)


class _Pairs(Dataset[dict[str, Tensor]]):
    """Present ``(image, label)`` tuples as ``{'image', 'label'}`` dicts."""

    def __init__(self, dataset: Dataset[Any]) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = self.dataset[index]
        if isinstance(item, Mapping):
            return {
                'image': torch.as_tensor(item['image']),
                'label': torch.as_tensor(item['label']),
            }
        image, label = item
        return {'image': torch.as_tensor(image), 'label': torch.as_tensor(label)}


class ScaleShiftBenchmark:
    """Accuracy, robust accuracy and margins of classifiers across image scales.

    Every test image is decoded once and kept in memory; each batch is zoomed to
    every scale on the device (:func:`~torchgeo_zelpha.transforms.scale_shift`),
    so the dataset is never read again per scale or per model.

    Example:
        >>> bench = ScaleShiftBenchmark(my_dataset, scales=(0.7, 1.0, 1.3))
        >>> result = bench.evaluate({'mine': (my_model, my_normalize)})
        >>> print(result.to_markdown())
    """

    def __init__(
        self,
        data: Dataset[Any] | LightningDataModule,
        scales: Sequence[float] = DEFAULT_TEST_SCALES,
        batch_size: int = 64,
        device: str | torch.device = 'cpu',
        preprocess: Callable[[Tensor], Tensor] | None = None,
        image_size: int | None = None,
        num_classes: int | None = None,
        padding_mode: str = 'reflection',
        progress: bool = True,
    ) -> None:
        """Initialize a new ScaleShiftBenchmark.

        Args:
            data: a dataset of ``{'image', 'label'}`` dicts or ``(image, label)``
                tuples, or a datamodule (a
                :class:`~torchgeo_zelpha.datamodules.ScaleShiftDataModule`'s test
                split and normalisation are used).
            scales: the scales to test (finite, > 0).
            batch_size: images per forward pass.
            device: where the models run.
            preprocess: applied to each shifted batch before a model that has no
                preprocessing of its own (default: the datamodule's normalisation,
                or none for a dataset).
            image_size: resize images to this square size once, when loading.
            num_classes: class count (default: the dataset's ``classes``, else the
                largest label + 1).
            padding_mode: border fill for ``s < 1``.
            progress: show a progress bar.

        Raises:
            ValueError: if ``scales`` is empty or holds a scale that is not > 0, or
                the data is empty.
        """
        self.scales = check_scales(scales)
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.padding_mode = padding_mode
        self.progress = progress
        self.preprocess = preprocess
        self.value_scale = 1.0
        classes: list[str] | None = None
        if isinstance(data, ScaleShiftDataModule):
            data.setup('test')
            memory = data.test_dataset
            assert isinstance(memory, InMemoryClassificationDataset)
            self.value_scale = data.value_scale
            self.preprocess = preprocess or data.normalize
            classes = getattr(
                data.dataset_class(split='test', **data.kwargs), 'classes', None
            )
        elif isinstance(data, LightningDataModule):
            data.setup('test')
            dataset = getattr(data, 'test_dataset', None)
            if dataset is None:
                raise ValueError(
                    f'{type(data).__name__} has no test_dataset after setup'
                )
            memory = InMemoryClassificationDataset.from_dataset(
                _Pairs(dataset), image_size, torch.float32
            )
            classes = getattr(dataset, 'classes', None)
        else:
            memory = InMemoryClassificationDataset.from_dataset(
                _Pairs(data), image_size, torch.float32
            )
            classes = getattr(data, 'classes', None)
        self.images = memory.images
        self.labels = memory.labels
        n = num_classes or (len(classes) if classes else int(self.labels.max()) + 1)
        self.num_classes = n
        self.classes = list(classes) if classes else [str(c) for c in range(n)]
        if int(self.labels.max()) >= n:
            raise ValueError(
                f'labels go up to {int(self.labels.max())} but num_classes is {n}'
            )

    def _batches(self) -> list[tuple[Tensor, Tensor]]:
        out = []
        for start in range(0, len(self.labels), self.batch_size):
            images = self.images[start : start + self.batch_size]
            out.append((images, self.labels[start : start + self.batch_size]))
        return out

    def shifted(self, images: Tensor, scale: float) -> Tensor:
        """Convert a stored batch to float and zoom it by ``scale`` on the device."""
        x = images.to(self.device).float() / self.value_scale
        return x if scale == 1.0 else scale_shift(x, scale, self.padding_mode)

    def _check_classifier(self, name: str, clf: Classifier) -> None:
        """Move a classifier to the device and check its class count on one image."""
        clf.module.to(self.device)
        example = self.shifted(self.images[:1], 1.0)
        prep = clf.preprocess or self.preprocess
        k = clf.num_outputs(prep(example) if prep else example)
        if k != self.num_classes:
            raise ValueError(
                f'model {name!r} predicts {k} classes but the data has '
                f'{self.num_classes}; class-count mismatch'
            )

    def evaluate(self, models: Mapping[str, ModelLike]) -> BenchmarkResult:
        """Evaluate every model at every scale.

        Args:
            models: name -> a :class:`~torchgeo_zelpha.tasks.ZelphaTask`, a TorchGeo
                ``Classification`` task, a Lightning checkpoint path, an
                ``nn.Module`` returning logits, or ``(nn.Module, preprocess)``.

        Returns:
            the results, with per-image correctness and margins.

        Raises:
            ValueError: if ``models`` is empty, a model returns logits of the wrong
                shape, or its class count differs from the data's.
        """
        if not models:
            raise ValueError('no models to evaluate')
        classifiers = {name: as_classifier(m) for name, m in models.items()}
        for name, clf in classifiers.items():
            self._check_classifier(name, clf)
        batches = self._batches()
        n, s = len(self.labels), len(self.scales)
        preds = {name: torch.empty(n, s, dtype=torch.long) for name in classifiers}
        margins = {name: torch.empty(n, s) for name in classifiers}
        seconds = dict.fromkeys(classifiers, 0.0)
        start_all = time.perf_counter()
        bar = tqdm(total=len(batches) * s, desc='benchmark', disable=not self.progress)
        position = 0
        for images, labels in batches:
            labels_dev = labels.to(self.device)
            rows = slice(position, position + len(labels))
            for k, scale in enumerate(self.scales):
                x = self.shifted(images, scale)
                for name, clf in classifiers.items():
                    prep = clf.preprocess or self.preprocess
                    t = time.perf_counter()
                    p, m = clf(prep(x) if prep else x, labels_dev)
                    seconds[name] += time.perf_counter() - t
                    preds[name][rows, k] = p.cpu()
                    margins[name][rows, k] = m.float().cpu()
                bar.update()
            position += len(labels)
        bar.close()
        total = time.perf_counter() - start_all
        results = {
            name: ModelResult(
                preds[name],
                margins[name],
                self.labels.clone(),
                self.scales,
                classifiers[name].margin_kind,
                seconds[name],
            )
            for name in classifiers
        }
        settings = {
            'images': n,
            'batch_size': self.batch_size,
            'device': str(self.device),
            'padding_mode': self.padding_mode,
            'seconds_total': total,
            'seconds_models': sum(seconds.values()),
            'overhead_fraction': (total - sum(seconds.values())) / max(total, 1e-9),
        }
        return BenchmarkResult(results, self.scales, self.classes, settings)

    def evaluate_with_trainer(
        self, models: Mapping[str, ModelLike], trainer: Trainer
    ) -> BenchmarkResult:
        """Evaluate under Lightning: ``trainer.test`` with one dataloader per scale.

        Multi-GPU and multi-node evaluation use the trainer's strategy (for example
        ``Trainer(strategy='ddp', devices=N, num_nodes=M)``); per-image answers are
        gathered and de-duplicated by index, so every number is exact.

        Args:
            models: as in :meth:`evaluate`.
            trainer: the Lightning trainer to run ``test`` with.

        Returns:
            the results (on every process).
        """
        if not models:
            raise ValueError('no models to evaluate')
        dataset = InMemoryClassificationDataset(self.images, self.labels)
        loaders = [
            DataLoader(dataset, batch_size=self.batch_size, shuffle=False)
            for _ in self.scales
        ]
        results = {}
        start = time.perf_counter()
        for name, model in models.items():
            clf = as_classifier(model)
            self._check_classifier(name, clf)
            module = ScaleShiftTestModule(
                clf,
                self.scales,
                len(dataset),
                self.preprocess,
                self.value_scale,
                self.padding_mode,
            )
            trainer.test(module, dataloaders=loaders, verbose=False)
            assert module.result is not None
            results[name] = module.result
        settings = {
            'images': len(dataset),
            'batch_size': self.batch_size,
            'strategy': type(trainer.strategy).__name__,
            'world_size': trainer.world_size,
            'padding_mode': self.padding_mode,
            'seconds_total': time.perf_counter() - start,
        }
        return BenchmarkResult(results, self.scales, self.classes, settings)

    @staticmethod
    def save_plots(result: BenchmarkResult, out_dir: str | Path) -> dict[str, Path]:
        """Write the accuracy, margin and histogram figures as PNG (atomically)."""
        out = Path(out_dir)
        paths = {}
        for key, plot in (
            ('accuracy_vs_scale', plot_accuracy_vs_scale),
            ('margin_vs_scale', plot_margin_vs_scale),
            ('margin_histograms', plot_margin_histograms),
        ):
            fig = plot(result)
            paths[key] = atomic_save_figure(fig, out / f'{key}.png')
            plt.close(fig)
        return paths
