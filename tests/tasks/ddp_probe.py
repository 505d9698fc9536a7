"""A callback for the DDP test: each rank dumps its prototypes and metrics."""

import os

import torch
from lightning.pytorch import Callback, LightningModule, Trainer


class DumpRankState(Callback):
    """Write ``rank<N>.pt`` with the prototypes and validation metrics at fit end."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        os.makedirs(self.out_dir, exist_ok=True)
        metrics = {
            k: float(v)
            for k, v in trainer.callback_metrics.items()
            if k.startswith('val_acc')
        }
        state = {
            'prototypes': pl_module.model.head.prototypes.detach().cpu(),
            'metrics': metrics,
            'world_size': trainer.world_size,
        }
        torch.save(state, os.path.join(self.out_dir, f'rank{trainer.global_rank}.pt'))
