"""Run the benchmark under Lightning, so that it scales out with its strategies."""

from collections.abc import Callable, Sequence

import torch
from lightning.pytorch import LightningModule
from torch import Tensor

from ..transforms import scale_shift
from .classifiers import Classifier
from .results import ModelResult

__all__ = ('ScaleShiftTestModule',)


class ScaleShiftTestModule(LightningModule):
    """Test one classifier with one dataloader per scale, under any strategy.

    Batches carry ``index``; at the end of the test epoch the per-image answers of
    all processes are gathered and written into ``[N, S]`` matrices by index, so
    the duplicates a distributed sampler pads with cannot change any number
    (robust accuracy included).
    """

    def __init__(
        self,
        classifier: Classifier,
        scales: Sequence[float],
        num_images: int,
        preprocess: Callable[[Tensor], Tensor] | None = None,
        value_scale: float = 1.0,
        padding_mode: str = 'reflection',
    ) -> None:
        """Initialize a new ScaleShiftTestModule.

        Args:
            classifier: the model and its preprocessing.
            scales: the scale of each test dataloader, in order.
            num_images: images in the test set (N).
            preprocess: normalisation when the classifier has none of its own.
            value_scale: stored values are divided by this first.
            padding_mode: border fill for ``s < 1``.
        """
        super().__init__()
        self.classifier_module = classifier.module
        self.classifier = classifier
        self.scales = tuple(scales)
        self.num_images = num_images
        self.preprocess = classifier.preprocess or preprocess
        self.value_scale = value_scale
        self.padding_mode = padding_mode
        self._records: dict[int, list[tuple[Tensor, ...]]] = {}
        self.result: ModelResult | None = None

    def test_step(
        self, batch: dict[str, Tensor], batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Answer one batch at this dataloader's scale."""
        x = batch['image'].float() / self.value_scale
        scale = self.scales[dataloader_idx]
        if scale != 1.0:
            x = scale_shift(x, scale, self.padding_mode)
        if self.preprocess is not None:
            x = self.preprocess(x)
        pred, margin = self.classifier(x, batch['label'])
        self._records.setdefault(dataloader_idx, []).append(
            (batch['index'], pred, margin.float(), batch['label'])
        )

    def on_test_epoch_end(self) -> None:
        """Gather every process's answers and de-duplicate them by image index."""
        n, s = self.num_images, len(self.scales)
        preds = torch.full((n, s), -1, dtype=torch.long)
        margins = torch.full((n, s), float('nan'))
        labels = torch.full((n,), -1, dtype=torch.long)
        for k in range(s):
            index, pred, margin, label = (
                torch.cat(parts) for parts in zip(*self._records[k])
            )
            gathered = [
                self.all_gather(t).reshape(-1).cpu()
                for t in (index, pred, margin, label)
            ]
            index, pred, margin, label = gathered
            preds[index, k] = pred
            margins[index, k] = margin
            labels[index] = label
        if (preds < 0).any():
            raise RuntimeError('some images were not evaluated at some scale')
        self._records.clear()
        self.result = ModelResult(
            preds, margins, labels, self.scales, self.classifier.margin_kind
        )
