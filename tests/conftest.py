import os
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch import Trainer

from torchgeo_zelpha.datamodules import ScaleShiftUCMercedDataModule
from torchgeo_zelpha.tasks import ZelphaTask

DATA = Path(__file__).parent / 'data'


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def ucmerced_root() -> str:
    return os.fspath(DATA / 'ucmerced')


@pytest.fixture
def eurosat_root() -> str:
    return os.fspath(DATA / 'eurosat')


def quick_trainer(root_dir: Path, max_epochs: int = 1, **overrides: Any) -> Trainer:
    """A CPU trainer that runs two training and one validation batch per epoch."""
    settings = {
        'accelerator': 'cpu',
        'max_epochs': max_epochs,
        'limit_train_batches': 2,
        'limit_val_batches': 1,
        'logger': False,
        'enable_progress_bar': False,
        'enable_model_summary': False,
        'default_root_dir': root_dir,
    }
    return Trainer(**(settings | overrides))


@pytest.fixture
def tiny_checkpoint(ucmerced_root: str, tmp_path: Path) -> Path:
    """A ZelphaTask checkpoint after two training steps on the fake UC Merced."""
    task = ZelphaTask(widths=(8, 16), feature_dim=8, input_size=32, warmup_epochs=0)
    dm = ScaleShiftUCMercedDataModule(root=ucmerced_root, image_size=32, batch_size=16)
    trainer = quick_trainer(tmp_path)
    trainer.fit(task, dm)
    path = tmp_path / 'tiny.ckpt'
    trainer.save_checkpoint(path)
    return path
