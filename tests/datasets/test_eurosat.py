from pathlib import Path

import pytest
import torch
from torchgeo.datasets import DatasetNotFoundError, EuroSAT

from torchgeo_zelpha.datasets import ScaleShiftEuroSAT


def test_rgb_default_and_band_subsets(eurosat_root: str) -> None:
    ds = ScaleShiftEuroSAT(eurosat_root, 'train', scale=1.3)
    sample = ds[0]
    assert sample['image'].shape == (3, 16, 16)
    assert sample['scale'].item() == pytest.approx(1.3)
    assert len(ds) == 30 and len(ds.classes) == 10
    full = ScaleShiftEuroSAT(eurosat_root, 'train', bands=EuroSAT.all_band_names)
    assert full[0]['image'].shape == (13, 16, 16)
    two = ScaleShiftEuroSAT(eurosat_root, 'train', bands=('B08', 'B04'))
    assert torch.equal(two[0]['image'], full[0]['image'][[7, 3]])
    with pytest.raises(ValueError, match='invalid band'):
        ScaleShiftEuroSAT(eurosat_root, bands=('B99',))


def test_splits(eurosat_root: str) -> None:
    files = {
        s: {
            p
            for p, _ in ScaleShiftEuroSAT(
                eurosat_root, s, split_ratios=(0.6, 0.2, 0.2)
            ).samples
        }
        for s in ('train', 'val', 'test')
    }
    assert [len(files[s]) for s in ('train', 'val', 'test')] == [30, 10, 10]
    assert not (files['train'] & files['test']) and not (files['val'] & files['test'])
    theirs = EuroSAT(eurosat_root, 'val', bands=EuroSAT.rgb_bands)
    ours = ScaleShiftEuroSAT(eurosat_root, 'val', split_source='torchgeo')
    assert ours.samples == theirs.samples
    assert torch.equal(ours[0]['image'], theirs[0]['image'])


def test_missing(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError):
        ScaleShiftEuroSAT(tmp_path)
    with pytest.raises(DatasetNotFoundError):
        ScaleShiftEuroSAT(tmp_path, split_source='torchgeo')
