import os
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch
from torchgeo.datasets import DatasetNotFoundError, UCMerced

from torchgeo_zelpha.datasets import ScaleShiftUCMerced
from torchgeo_zelpha.transforms import scale_shift


def test_sample_and_scale(ucmerced_root: str) -> None:
    ds = ScaleShiftUCMerced(ucmerced_root, 'test', scale=0.7)
    plain = ScaleShiftUCMerced(ucmerced_root, 'test')
    sample = ds[0]
    assert set(sample) == {'image', 'label', 'scale'}
    assert sample['image'].shape == (3, 256, 256)  # non-square fakes resized too
    assert sample['scale'].item() == pytest.approx(0.7)
    expected = scale_shift(plain[0]['image'][None], 0.7)[0]
    assert torch.allclose(sample['image'], expected)
    assert len(ds.classes) == 21


def test_seeded_split_disjoint_and_balanced(ucmerced_root: str) -> None:
    files = {
        split: {p for p, _ in ScaleShiftUCMerced(ucmerced_root, split, seed=1).samples}
        for split in ('train', 'val', 'test')
    }
    assert [len(files[s]) for s in ('train', 'val', 'test')] == [63, 21, 21]
    assert not files['train'] & files['val']
    assert not files['train'] & files['test']
    assert not files['val'] & files['test']
    test = ScaleShiftUCMerced(ucmerced_root, 'test', seed=1)
    assert sorted(test.targets) == list(range(21))  # one per class
    again = ScaleShiftUCMerced(ucmerced_root, 'test', seed=1)
    assert again.samples == test.samples
    assert ScaleShiftUCMerced(ucmerced_root, 'test', seed=2).samples != test.samples


def test_torchgeo_split_files(ucmerced_root: str) -> None:
    ours = ScaleShiftUCMerced(ucmerced_root, 'train', split_source='torchgeo')
    theirs = UCMerced(ucmerced_root, 'train')
    assert ours.samples == theirs.samples


def test_missing_split_file(tmp_path: Path, ucmerced_root: str) -> None:
    os.symlink(
        os.path.join(os.path.abspath(ucmerced_root), 'UCMerced_LandUse'),
        tmp_path / 'UCMerced_LandUse',
    )
    with pytest.raises(FileNotFoundError, match='split file'):
        ScaleShiftUCMerced(tmp_path, 'train', split_source='torchgeo')
    assert len(ScaleShiftUCMerced(tmp_path, 'train')) == 63


def test_torchgeo_behaviour_kept(ucmerced_root: str, tmp_path: Path) -> None:
    ds = ScaleShiftUCMerced(ucmerced_root, 'val')
    assert len(ds + ds) == 2 * len(ds)
    fig = ds.plot(ds[0], suptitle='x')
    plt.close(fig)
    with pytest.raises(DatasetNotFoundError):
        ScaleShiftUCMerced(tmp_path)
    seen = []
    ds = ScaleShiftUCMerced(
        ucmerced_root, 'val', transforms=lambda s: seen.append(1) or s
    )
    ds[0]
    assert seen == [1]


@pytest.mark.parametrize(
    ('kwargs', 'match'),
    [
        ({'scale': 0}, 'scale'),
        ({'scale': float('nan')}, 'scale'),
        ({'split': 'dev'}, 'split'),
        ({'split_source': 'kaggle'}, 'split_source'),
        ({'split_ratios': (0.5, 0.5, 0.5)}, 'split_ratios'),
        ({'padding_mode': 'wrap'}, 'padding_mode'),
    ],
)
def test_bad_arguments(ucmerced_root: str, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ScaleShiftUCMerced(ucmerced_root, **kwargs)
