import pytest
import torch
from lightning.pytorch import Trainer

from torchgeo_zelpha.datamodules import (
    InMemoryClassificationDataset,
    ScaleShiftEuroSATDataModule,
    ScaleShiftUCMercedDataModule,
)
from torchgeo_zelpha.transforms import scale_shift


def test_ucmerced_in_memory_and_stats(ucmerced_root: str) -> None:
    dm = ScaleShiftUCMercedDataModule(root=ucmerced_root, image_size=32, batch_size=8)
    dm.setup('fit')
    train = dm.train_dataset
    assert isinstance(train, InMemoryClassificationDataset)
    assert train.images.dtype == torch.uint8 and train.images.shape == (63, 3, 32, 32)
    x = train.images.double() / 255
    assert torch.allclose(dm.mean.double(), x.mean(dim=(0, 2, 3)), atol=1e-5)
    assert torch.allclose(dm.std.double(), x.std(dim=(0, 2, 3)), atol=1e-3)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {'image', 'label', 'index'}
    out = dm.train_aug({'image': batch['image'].float() / 255, 'label': batch['label']})
    assert out['image'].shape == (8, 3, 32, 32)


def test_given_stats_are_used(ucmerced_root: str) -> None:
    dm = ScaleShiftUCMercedDataModule(
        root=ucmerced_root, image_size=16, mean=[0.5] * 3, std=[0.25] * 3
    )
    dm.setup('test')
    assert dm.train_dataset is None  # no need to decode train for the stats
    assert torch.equal(dm.mean, torch.tensor([0.5] * 3))
    with pytest.raises(ValueError, match='both mean and std'):
        ScaleShiftUCMercedDataModule(root=ucmerced_root, mean=[0.5] * 3)


def test_one_test_loader_per_scale(ucmerced_root: str) -> None:
    scales = (0.7, 1.0, 1.3)
    dm = ScaleShiftUCMercedDataModule(
        root=ucmerced_root, image_size=32, batch_size=4, test_scales=scales,
        mean=[0.0] * 3, std=[1.0] * 3,
    )  # fmt: skip
    dm.setup('test')
    loaders = dm.test_dataloader()
    assert len(loaders) == 3

    class Testing:
        testing = True
        training = validating = sanity_checking = predicting = False

    dm.trainer = Testing()  # type: ignore[assignment]
    raw = next(iter(loaders[2]))
    image = raw['image'].float() / 255
    batch = dm.on_after_batch_transfer(dict(raw), 2)
    assert torch.allclose(batch['image'], scale_shift(image, 1.3), atol=1e-5)
    assert torch.equal(batch['scale'], torch.full((4,), 1.3))


def test_eurosat_datamodule(eurosat_root: str) -> None:
    dm = ScaleShiftEuroSATDataModule(root=eurosat_root, batch_size=4, image_size=16)
    dm.setup('fit')
    assert dm.train_dataset.images.dtype == torch.float16
    assert dm.train_dataset.images.shape == (30, 3, 16, 16)
    assert (dm.mean > 0).all() and (dm.mean < 1).all()  # reflectance / 10000


def test_bad_arguments(ucmerced_root: str) -> None:
    with pytest.raises(ValueError, match='scales'):
        ScaleShiftUCMercedDataModule(root=ucmerced_root, test_scales=())
    with pytest.raises(ValueError, match='> 0'):
        ScaleShiftUCMercedDataModule(root=ucmerced_root, test_scales=(1.0, -0.5))
    with pytest.raises(ValueError, match='image_size'):
        ScaleShiftUCMercedDataModule(root=ucmerced_root, image_size=2)


def test_in_memory_rejects_nan() -> None:
    data = [{'image': torch.tensor([[[float('nan')]]]), 'label': torch.tensor(0)}]
    with pytest.raises(ValueError, match='NaN'):
        InMemoryClassificationDataset.from_dataset(data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='empty'):
        InMemoryClassificationDataset.from_dataset([])  # type: ignore[arg-type]


def test_lightning_runs_all_test_scales(ucmerced_root: str) -> None:
    from lightning.pytorch import LightningModule

    class Recorder(LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[float] = []

        def test_step(
            self, batch: dict, batch_idx: int, dataloader_idx: int = 0
        ) -> None:
            self.seen.append(float(batch['scale'][0]))

    dm = ScaleShiftUCMercedDataModule(root=ucmerced_root, image_size=16, batch_size=32)
    model = Recorder()
    Trainer(accelerator='cpu', logger=False, enable_progress_bar=False).test(model, dm)
    assert sorted(set(model.seen)) == pytest.approx([0.7, 0.85, 1.0, 1.15, 1.3])
