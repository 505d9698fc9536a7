"""ZelphaTask: train ZELPHA with TorchGeo's trainers and Lightning's CLI."""

import math
from collections.abc import Sequence
from typing import Any, Literal

import matplotlib

matplotlib.use('Agg')

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor
from torch.optim import SGD, AdamW
from torch.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR, StepLR
from torchgeo.datasets.utils import Sample
from torchgeo.tasks import BaseTask
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from ..lipschitz.measure import (
    LayerNormEstimator,
    empirical_lipschitz,
    network_upper_bound,
)
from ..losses import lipschitz_penalty, prototype_loss
from ..models.prototype_head import PrototypeHead, logit_margin, prototype_margin
from ..models.zelpha import VARIANTS, ZelphaModel
from .schedule import LossSchedule, LossWatch

__all__ = ('ZelphaTask',)

MARGIN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

#: Loss settings of the ablations (their model settings are in ``VARIANTS``).
TASK_VARIANTS: dict[str, dict[str, float]] = {
    'vanilla_cnn': {'beta': 0.0, 'gamma': 0.0},
    'zelpha_no_proto': {'beta': 0.0},
}


class ZelphaTask(BaseTask):
    """Train and evaluate ZELPHA (and its ablations) on scene classification.

    Loss: ``CE + beta * L_proto + gamma * L_Lip`` (see :mod:`torchgeo_zelpha.losses`)
    with a cross-entropy-only warm-up, then ``beta`` ramped up
    (:class:`~torchgeo_zelpha.tasks.schedule.LossSchedule`). The prototypes start
    at the origin and are learned; ``prototype_reset`` can also set them to class
    means of the training features during or at the end of the warm-up, which
    measured worse on UC Merced (docs/results.md#prototype-head).
    A stalled or diverging run after the Lipschitz penalty starts falls back to
    ``gamma = 0`` (Checkpoint E). Each validation epoch logs the loss terms,
    accuracy, margin statistics and histogram, per-layer operator norms, the network
    upper bound and the empirical Lipschitz estimates (Checkpoints C and D).

    Ablations are arguments: ``head='linear', scales=[1.0], spectral_norm=False``
    is the vanilla CNN; ``spectral_norm=False``, ``beta=0`` or ``scales=[1.0]``
    remove one part each.
    """

    monitor = 'val_acc'
    mode = 'max'

    def __init__(
        self,
        num_classes: int = 21,
        in_channels: int = 3,
        feature_dim: int = 128,
        widths: Sequence[int] = (32, 64, 128, 256),
        norm: Literal['batch', 'none'] = 'batch',
        scales: Sequence[float] = (0.8, 1.0, 1.2),
        pooling: Literal['mean', 'max'] = 'mean',
        train_scales: Literal['all', 'sample'] = 'all',
        head: Literal['prototype', 'linear'] = 'prototype',
        spectral_norm: bool = True,
        spectral_norm_mode: Literal['operator', 'reshape'] = 'operator',
        n_power_iterations: int = 2,
        input_size: int = 128,
        beta: float = 0.3,
        gamma: float = 0.003,
        warmup_epochs: float = 5,
        beta_ramp_epochs: float = 5,
        prototype_reset: Literal['periodic', 'warmup_end', 'never'] = 'never',
        prototype_reset_interval: int = 20,
        prototype_init_std: float = 0.0,
        logit_scale: float = 10.0,
        learn_logit_scale: bool = True,
        calibrate_logit_scale: bool = True,
        prototype_margin: float = 1.0,
        lambda_intra: float = 1.0,
        lambda_inter: float = 1.0,
        lipschitz_bound: float = 1.0,
        label_smoothing: float = 0.1,
        optimizer: Literal['adamw', 'sgd'] = 'adamw',
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        momentum: float = 0.9,
        scheduler: Literal['onecycle', 'cosine', 'step', 'none'] = 'onecycle',
        step_size: int = 10,
        patience: int = 10,
        watch_window: int = 50,
        watch_tolerance: float = 0.25,
        lipschitz_batch_size: int = 16,
        lipschitz_iterations: int = 50,
    ) -> None:
        """Initialize a new ZelphaTask.

        Args:
            num_classes: number of classes.
            in_channels: input bands.
            feature_dim: feature size D.
            widths: channels of the backbone's conv blocks.
            norm: ``'batch'`` or ``'none'`` in the backbone.
            scales: internal scales of the scale pooling (``[1.0]``: none).
            pooling: ``'mean'`` or ``'max'`` over scales.
            train_scales: ``'all'`` (pool every internal scale in training) or
                ``'sample'`` (one drawn per step: 1/S of the cost; evaluation
                pools all).
            head: ``'prototype'`` or ``'linear'``.
            spectral_norm: spectrally normalise every conv and linear layer.
            spectral_norm_mode: ``'operator'`` (true conv norm) or ``'reshape'``.
            n_power_iterations: power iterations per step of spectral norm.
            input_size: model input side in pixels (sizes the conv power iteration).
            beta: target weight of the prototype loss.
            gamma: weight of the Lipschitz penalty.
            warmup_epochs: cross-entropy-only epochs.
            beta_ramp_epochs: epochs over which beta ramps from 0 to its target.
            prototype_reset: when the prototypes are set to class means of the
                training features: ``'periodic'`` (every
                ``prototype_reset_interval`` warm-up steps and at the end of the
                warm-up), ``'warmup_end'`` (once, to the means of the last
                warm-up epoch) or ``'never'`` (learned by the losses alone).
            prototype_reset_interval: with ``'periodic'``, reset the prototypes
                to the class means of the last this-many warm-up steps' features.
            prototype_init_std: standard deviation of the initial prototypes.
            logit_scale: initial inverse temperature tau of the prototype head.
            learn_logit_scale: learn tau (else it stays fixed).
            calibrate_logit_scale: on each prototype reset, also set the head's
                inverse temperature from the spread of the class means (see
                :meth:`~torchgeo_zelpha.models.PrototypeHead.reset_prototypes`).
            prototype_margin: the inter-class hinge margin m.
            lambda_intra: weight of the intra-class pull in L_proto.
            lambda_inter: weight of the inter-class push in L_proto.
            lipschitz_bound: per-layer bound K of the Lipschitz penalty.
            label_smoothing: cross-entropy label smoothing.
            optimizer: ``'adamw'`` or ``'sgd'`` (with momentum).
            lr: peak learning rate.
            weight_decay: weight decay.
            momentum: SGD momentum.
            scheduler: ``'onecycle'``, ``'cosine'``, ``'step'`` or ``'none'``.
            step_size: epochs per step of the step schedule (x0.1).
            patience: unused by these schedules; kept for TorchGeo compatibility.
            watch_window: steps per window of the stall/divergence check.
            watch_tolerance: allowed relative rise of the windowed loss.
            lipschitz_batch_size: images of the fixed validation batch used for the
                empirical Lipschitz estimate.
            lipschitz_iterations: power iterations of the logged upper bound.
        """
        super().__init__()

    @classmethod
    def variant(cls, name: str, **kwargs: Any) -> 'ZelphaTask':
        """A named ablation (:data:`torchgeo_zelpha.models.VARIANTS`) as a task.

        The model-level settings come from ``VARIANTS``; the loss-level ones are
        ``beta = gamma = 0`` for ``'vanilla_cnn'`` and ``beta = 0`` for
        ``'zelpha_no_proto'``. ``kwargs`` override both.
        """
        if name not in VARIANTS:
            raise ValueError(
                f'unknown variant {name!r}; choose from {sorted(VARIANTS)}'
            )
        losses = TASK_VARIANTS.get(name, {})
        return cls(**{**VARIANTS[name], **losses, **kwargs})

    # -- configuration -----------------------------------------------------------

    def configure_models(self) -> None:
        """Build the model, the schedule and the loss watch."""
        h = self.hparams
        self.model = ZelphaModel(
            h['num_classes'],
            in_channels=h['in_channels'],
            feature_dim=h['feature_dim'],
            widths=h['widths'],
            norm=h['norm'],
            scales=h['scales'],
            pooling=h['pooling'],
            # Checkpoints from before this option trained on every scale.
            train_scales=h.get('train_scales', 'all'),
            head=h['head'],
            spectral_norm=h['spectral_norm'],
            spectral_norm_mode=h['spectral_norm_mode'],
            n_power_iterations=h['n_power_iterations'],
            input_size=h['input_size'],
            prototype_init_std=h['prototype_init_std'],
            logit_scale=h['logit_scale'],
            learn_logit_scale=h['learn_logit_scale'],
        )
        self.schedule = LossSchedule(
            h['beta'], h['gamma'], h['warmup_epochs'], h['beta_ramp_epochs']
        )
        self.watch = LossWatch(h['watch_window'], h['watch_tolerance'])
        # Checkpoint E: set once the Lipschitz penalty made the run stall/diverge.
        self.register_buffer('gamma_disabled', torch.tensor(False))
        self._norms: LayerNormEstimator | None = None
        self._class_sums: Tensor | None = None
        self._class_counts: Tensor | None = None
        self._lipschitz_batch: Tensor | None = None

    def configure_losses(self) -> None:
        """Cross-entropy with label smoothing."""
        self.criterion = nn.CrossEntropyLoss(
            label_smoothing=self.hparams['label_smoothing']
        )

    def configure_metrics(self) -> None:
        """Overall accuracy (train, val) and per-class accuracy (val)."""
        c = self.hparams['num_classes']
        self.train_acc = MulticlassAccuracy(c, average='micro')
        self.val_metrics = MetricCollection(
            {
                'acc': MulticlassAccuracy(c, average='micro'),
                'acc_per_class': MulticlassAccuracy(c, average=None),
            },
            prefix='val_',
        )
        self.test_metrics = nn.ModuleList()
        self._val_margins: list[Tensor] = []
        self._test_margins: dict[int, list[Tensor]] = {}

    def configure_optimizers(self) -> Any:
        """AdamW or SGD with a one-cycle, cosine or step schedule."""
        h = self.hparams
        if h['optimizer'] == 'adamw':
            opt: torch.optim.Optimizer = AdamW(
                self.parameters(), lr=h['lr'], weight_decay=h['weight_decay']
            )
        elif h['optimizer'] == 'sgd':
            opt = SGD(
                self.parameters(),
                lr=h['lr'],
                momentum=h['momentum'],
                weight_decay=h['weight_decay'],
                nesterov=True,
            )
        else:
            raise ValueError(
                f"optimizer must be 'adamw' or 'sgd', got {h['optimizer']!r}"
            )
        epochs = max(1, self.trainer.max_epochs or 1)
        match h['scheduler']:
            case 'onecycle':
                total = max(1, int(self.trainer.estimated_stepping_batches))
                sched = OneCycleLR(
                    opt, max_lr=h['lr'], total_steps=total, pct_start=0.2
                )
                return {
                    'optimizer': opt,
                    'lr_scheduler': {'scheduler': sched, 'interval': 'step'},
                }
            case 'cosine':
                return {
                    'optimizer': opt,
                    'lr_scheduler': CosineAnnealingLR(opt, epochs),
                }
            case 'step':
                return {
                    'optimizer': opt,
                    'lr_scheduler': StepLR(opt, h['step_size'], 0.1),
                }
            case 'none':
                return opt
        raise ValueError(f'unknown scheduler {h["scheduler"]!r}')

    # -- helpers -----------------------------------------------------------------

    @property
    def prototype_head(self) -> PrototypeHead | None:
        """The prototype head, or None for a linear head."""
        head = self.model.head
        return head if isinstance(head, PrototypeHead) else None

    def _epoch_float(self, batch_idx: int) -> float:
        """Fractional epoch, for the schedule."""
        num_batches = self.trainer.num_training_batches
        if not isinstance(num_batches, int | float) or not math.isfinite(num_batches):
            return float(self.current_epoch)
        return self.current_epoch + batch_idx / max(1, num_batches)

    def _margins(self, z: Tensor, logits: Tensor, labels: Tensor) -> Tensor:
        """Prototype margin for a prototype head, logit margin otherwise."""
        head = self.prototype_head
        if head is not None:
            return prototype_margin(
                head.squared_distances(z).clamp(min=0).sqrt(), labels
            )
        return logit_margin(logits, labels)

    def _accumulate_class_means(self, z: Tensor, labels: Tensor) -> None:
        c = self.hparams['num_classes']
        if self._class_sums is None:
            self._class_sums = torch.zeros(
                c, z.shape[1], device=z.device, dtype=torch.float64
            )
            self._class_counts = torch.zeros(c, device=z.device, dtype=torch.float64)
        self._class_sums.index_add_(0, labels, z.detach().double())
        self._class_counts.index_add_(
            0, labels, torch.ones_like(labels, dtype=torch.float64)
        )  # type: ignore[union-attr]

    def reset_prototypes_to_class_means(self) -> None:
        """Set prototypes to the class means of the features seen since the last reset.

        Sums and counts are summed over all processes first, so every rank gets the
        same prototypes. Classes not seen keep their prototype.
        """
        head = self.prototype_head
        if head is None or self._class_sums is None:
            return
        sums = self.trainer.strategy.reduce(self._class_sums, reduce_op='sum')
        counts = self.trainer.strategy.reduce(self._class_counts, reduce_op='sum')
        seen = counts > 0
        means = head.prototypes.detach().clone()
        means[seen] = (sums[seen] / counts[seen, None]).to(means.dtype)
        head.reset_prototypes(
            means, calibrate_scale=self.hparams['calibrate_logit_scale']
        )
        self._class_sums = self._class_counts = None

    # -- training ----------------------------------------------------------------

    def on_fit_start(self) -> None:
        """Set up the per-layer norm estimator for the Lipschitz penalty."""
        size = self.hparams['input_size']
        example = torch.zeros(
            1, self.hparams['in_channels'], size, size, device=self.device
        )
        self._norms = LayerNormEstimator(self.model, example)

    def on_train_epoch_start(self) -> None:
        """With ``prototype_reset='warmup_end'``, count only the latest epoch.

        Features of earlier warm-up epochs come from a backbone that has moved
        on since, so each warm-up epoch starts the class means afresh.
        """
        if self.hparams['prototype_reset'] == 'warmup_end' and (
            self.schedule.in_warmup(self.current_epoch)
        ):
            self._class_sums = self._class_counts = None

    def training_step(
        self, batch: Sample, batch_idx: int, dataloader_idx: int = 0
    ) -> Tensor | None:
        """One step of ``CE + beta * L_proto + gamma * L_Lip``."""
        x, y = batch['image'], batch['label']
        epoch = self._epoch_float(batch_idx)
        z = self.model.features(x)
        logits = self.model.head(z)
        ce = self.criterion(logits, y)
        beta = self.schedule.beta_at(epoch)
        gamma = 0.0 if bool(self.gamma_disabled) else self.schedule.gamma_at(epoch)
        loss = ce
        head = self.prototype_head
        if head is not None:
            reset = self.hparams['prototype_reset']
            if reset != 'never' and self.schedule.in_warmup(epoch):
                self._accumulate_class_means(z, y)
                interval = self.hparams['prototype_reset_interval']
                if reset == 'periodic' and (batch_idx + 1) % interval == 0:
                    self.reset_prototypes_to_class_means()
            elif self._class_sums is not None:  # the warm-up just ended
                self.reset_prototypes_to_class_means()
            if beta > 0:
                l_proto = prototype_loss(
                    z,
                    y,
                    head.prototypes,
                    self.hparams['prototype_margin'],
                    self.hparams['lambda_intra'],
                    self.hparams['lambda_inter'],
                )
                loss = loss + beta * l_proto
                self.log('train_proto_loss', l_proto, batch_size=len(y))
            # tau is learned slowly in log space; logging it shows when the
            # softmax over distances is too sharp or too flat.
            self.log('logit_scale', head.log_scale.detach().exp(), batch_size=len(y))
        if gamma > 0 and self._norms is not None:
            l_lip = lipschitz_penalty(
                self._norms.norms(), self.hparams['lipschitz_bound']
            )
            loss = loss + gamma * l_lip
            self.log('train_lip_loss', l_lip, batch_size=len(y))

        self.train_acc(logits.detach(), y)
        self.log_dict(
            {
                'train_loss': loss.detach(),
                'train_ce': ce.detach(),
                'beta': beta,
                'gamma': gamma,
            },
            batch_size=len(y),
        )
        self.log('train_acc', self.train_acc, batch_size=len(y), prog_bar=True)
        return self._checked(loss, gamma)

    def _checked(self, loss: Tensor, gamma: float) -> Tensor | None:
        """Checkpoint E: skip non-finite steps; fall back to gamma = 0 if needed."""
        value = float(loss.detach())
        reason = self.watch.update(value) if gamma > 0 else None
        if reason is None and not math.isfinite(value):
            reason = f'non-finite loss ({value})'
        if reason is None:
            return loss
        if gamma > 0 and not bool(self.gamma_disabled):
            self.gamma_disabled.fill_(True)
            self.watch.reset()
            rank_zero_warn(
                f'ZelphaTask: {reason} after the Lipschitz penalty started; '
                'falling back to gamma = 0'
            )
            self.log('gamma_fallback', 1.0)
        # Returning None skips backward and the optimizer step: a non-finite
        # loss never reaches the weights.
        return loss if math.isfinite(value) else None

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Drop non-finite gradients so they never reach the weights."""
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        if grads and not all(bool(torch.isfinite(g).all()) for g in grads):
            rank_zero_warn('ZelphaTask: non-finite gradients; this step is skipped')
            for p in self.parameters():
                p.grad = None

    # -- validation --------------------------------------------------------------

    def validation_step(
        self, batch: Sample, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Loss, accuracy and margins of a validation batch."""
        x, y = batch['image'], batch['label']
        z = self.model.features(x)
        logits = self.model.head(z)
        self.log('val_loss', self.criterion(logits, y), batch_size=len(y))
        self.val_metrics(logits, y)
        self.log('val_acc', self.val_metrics['acc'], batch_size=len(y), prog_bar=True)
        self._val_margins.append(self._margins(z, logits, y).detach())
        if self._lipschitz_batch is None:
            self._lipschitz_batch = (
                x[: self.hparams['lipschitz_batch_size']].detach().clone()
            )

    def on_validation_epoch_end(self) -> None:
        """Margins, per-class accuracy, layer norms and Lipschitz estimates."""
        per_class = self.val_metrics['acc_per_class'].compute()
        self.val_metrics['acc_per_class'].reset()
        self.log_dict({f'val_acc_class/{i}': v for i, v in enumerate(per_class)})
        if self._val_margins:
            margins = self.all_gather(torch.cat(self._val_margins)).flatten()
            self._val_margins.clear()
            self._log_margins('val', margins)
        if self._lipschitz_batch is not None and not self.trainer.sanity_checking:
            self._log_lipschitz(self._lipschitz_batch)

    def _log_margins(self, prefix: str, margins: Tensor) -> None:
        stats = {
            f'{prefix}_margin_mean': margins.mean(),
            f'{prefix}_margin_min': margins.min(),
        }
        qs = torch.quantile(
            margins.float(), torch.tensor(MARGIN_QUANTILES, device=margins.device)
        )
        stats.update(
            {
                f'{prefix}_margin_q{int(q * 100):02d}': v
                for q, v in zip(MARGIN_QUANTILES, qs)
            }
        )
        self.log_dict(stats, sync_dist=False, rank_zero_only=True)
        experiment = getattr(self.logger, 'experiment', None)
        if hasattr(experiment, 'add_figure'):
            fig, ax = plt.subplots(figsize=(4, 3))
            ax.hist(margins.cpu().numpy(), bins=30)
            ax.axvline(0, color='red')
            ax.set_xlabel('margin')
            ax.set_ylabel('images')
            experiment.add_figure(f'{prefix}_margin_histogram', fig, self.global_step)  # type: ignore[union-attr]
            plt.close(fig)

    def _log_lipschitz(self, images: Tensor) -> None:
        """Per-layer norms, the network upper bound and the empirical estimates."""
        was_training = self.model.training
        self.model.eval()
        # `trainer.validate` runs under inference mode, where power iteration's
        # autograd cannot run; the clone turns the batch into a normal tensor.
        with torch.inference_mode(False):
            images = images.clone()
            bound = network_upper_bound(
                self.model.backbone, images, self.hparams['lipschitz_iterations']
            )
            empirical = empirical_lipschitz(self.model.features, images)
        self.model.train(was_training)
        values = {
            f'lip_layer/{i}_{name}_{kind}': v
            for i, (name, kind, v) in enumerate(bound.layers)
        }
        values['lip_upper_bound'] = bound.total
        values['lip_empirical_noise'] = empirical['noise']
        values['lip_empirical_rescale'] = empirical['rescale']
        self.log_dict(values, rank_zero_only=True)

    # -- test and predict --------------------------------------------------------

    def _test_scale(self, batch: Sample, dataloader_idx: int) -> str:
        if 'scale' in batch:
            return f's{float(batch["scale"].flatten()[0]):.2f}'
        return f'dl{dataloader_idx}'

    def on_test_epoch_start(self) -> None:
        """One accuracy metric per test dataloader (per scale)."""
        loaders = self.trainer.test_dataloaders
        n = len(loaders) if isinstance(loaders, list | tuple) else 1
        c = self.hparams['num_classes']
        self.test_metrics = nn.ModuleList(
            [MulticlassAccuracy(c, average='micro').to(self.device) for _ in range(n)]
        )
        self._test_margins = {}

    def test_step(self, batch: Sample, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Accuracy and margin at this dataloader's scale."""
        x, y = batch['image'], batch['label']
        z = self.model.features(x)
        logits = self.model.head(z)
        if logits.shape[1] != self.hparams['num_classes']:
            raise ValueError('logits do not match num_classes')
        name = self._test_scale(batch, dataloader_idx)
        metric = self.test_metrics[dataloader_idx]
        metric(logits, y)
        self.log(
            f'test_acc_{name}', metric, batch_size=len(y), add_dataloader_idx=False
        )
        self.log(
            f'test_margin_mean_{name}',
            self._margins(z, logits, y).mean(),
            batch_size=len(y),
            add_dataloader_idx=False,
        )

    def predict_step(
        self, batch: Sample, batch_idx: int, dataloader_idx: int = 0
    ) -> Tensor:
        """Class probabilities."""
        return self.model(batch['image']).softmax(dim=1)

    # -- checkpoints -------------------------------------------------------------

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint whose tensors do not fit this task's model.

        Lightning merges the arguments given to ``load_from_checkpoint`` into the
        saved hyperparameters, so the weights' shapes are what is compared.

        Raises:
            ValueError: naming the mismatch (class count first).
        """
        saved = checkpoint.get('state_dict', {})
        own = self.state_dict()
        mismatched = [
            f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
            for k, v in saved.items()
            if k in own and v.shape != own[k].shape
        ]
        if not mismatched:
            return
        for key in ('model.head.prototypes', 'model.head.weight'):
            if key in saved and saved[key].shape[0] != self.hparams['num_classes']:
                raise ValueError(
                    f'checkpoint was trained for {saved[key].shape[0]} classes, but '
                    f'this task has num_classes={self.hparams["num_classes"]}'
                )
        raise ValueError(
            'checkpoint does not match this model: ' + '; '.join(mismatched)
        )
