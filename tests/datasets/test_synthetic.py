from pathlib import Path

import numpy as np
import pytest

from torchgeo_zelpha.datasets import ScaleShiftUCMerced, write_synthetic_ucmerced
from torchgeo_zelpha.datasets.synthetic import make_synthetic_scene


def test_layout_readable_by_torchgeo(tmp_path: Path) -> None:
    write_synthetic_ucmerced(tmp_path, images_per_class=5, size=32)
    ds = ScaleShiftUCMerced(tmp_path, 'train')
    assert len(ds.classes) == 21 and len(ds) == 63
    assert ds[0]['image'].shape == (3, 256, 256)
    with pytest.raises(FileExistsError):
        write_synthetic_ucmerced(tmp_path, images_per_class=5, size=32)


def test_scenes_are_seeded_and_classes_differ() -> None:
    def scene(label: int, seed: int) -> np.ndarray:
        return make_synthetic_scene(label, 64, np.random.default_rng(seed))

    assert np.array_equal(scene(3, 1), scene(3, 1))
    assert not np.array_equal(scene(3, 1), scene(3, 2))
    # Same random draws (so same period and object size), different class:
    # only the structure or palette changes.
    for a, b in ((0, 1), (0, 7), (2, 9)):
        assert np.abs(scene(a, 5).astype(int) - scene(b, 5)).mean() > 10
