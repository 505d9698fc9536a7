import json
import os
from pathlib import Path

import pytest
import rasterio
import torch

from torchgeo_zelpha.cli import main
from torchgeo_zelpha.datasets import ScaleShiftUCMerced
from torchgeo_zelpha.export import export_scale_shift_splits
from torchgeo_zelpha.visualization import plot_scale_shift


def test_export_layout_manifest_idempotent(ucmerced_root: str, tmp_path: Path) -> None:
    out = export_scale_shift_splits(
        ScaleShiftUCMerced, ucmerced_root, tmp_path, scales=(0.7, 1.3), image_size=16
    )
    assert out == tmp_path / 'uc_merced'
    manifest = json.loads((out / 'manifest.json').read_text())
    assert len(manifest['files']) == 63 + 21 + 2 * 21
    assert {p.name for p in (out / 'test').iterdir()} == {'s0.70', 's1.30'}
    tif = out / 'test' / 's1.30' / 'agricultural'
    (one,) = tif.iterdir()
    with rasterio.open(one) as src:
        assert src.count == 3 and src.dtypes[0] == 'uint8' and src.shape == (16, 16)
    mtime = os.path.getmtime(out / 'manifest.json')
    export_scale_shift_splits(
        ScaleShiftUCMerced, ucmerced_root, tmp_path, scales=(0.7, 1.3), image_size=16
    )
    assert os.path.getmtime(out / 'manifest.json') == mtime  # nothing rewritten
    with pytest.raises(FileExistsError, match='other settings'):
        export_scale_shift_splits(
            ScaleShiftUCMerced, ucmerced_root, tmp_path, scales=(0.7,)
        )
    export_scale_shift_splits(
        ScaleShiftUCMerced,
        ucmerced_root,
        tmp_path,
        scales=(0.7,),
        image_size=16,
        overwrite=True,
    )
    assert {p.name for p in (out / 'test').iterdir()} == {'s0.70'}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]


def test_export_is_atomic_on_failure(
    ucmerced_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchgeo_zelpha.export as export

    written = []

    def fail_after_ten(path: Path, image: object) -> None:
        written.append(path)
        if len(written) > 10:
            raise OSError('disk full')

    monkeypatch.setattr(export, '_write_tif', fail_after_ten)
    with pytest.raises(OSError, match='disk full'):
        export_scale_shift_splits(ScaleShiftUCMerced, ucmerced_root, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no half-written export left behind


def test_checkpoint_a_figure(ucmerced_root: str, tmp_path: Path) -> None:
    fig = plot_scale_shift(torch.rand(3, 32, 32))
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:5]] == [
        's = 0.70',
        's = 0.85',
        's = 1.00',
        's = 1.15',
        's = 1.30',
    ]
    assert len(fig.axes[-1].patches) == 5  # every scale's box in the overlay
    with pytest.raises(ValueError, match='C, H, W'):
        plot_scale_shift(torch.rand(32, 32))
    output = tmp_path / 'a.png'
    main(['figure', '--root', ucmerced_root, '--output', str(output)])
    assert output.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_demo_falls_back_to_synthetic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        [
            'demo',
            '--root',
            str(tmp_path / 'nothing'),
            '--out',
            str(tmp_path / 'o'),
            '--scales',
            '0.7',
            '1.3',
        ]
    )
    text = capsys.readouterr().out
    assert 'synthetic' in text and 'train 252, val 84, test 84' in text
    assert (tmp_path / 'o' / 'checkpoint_a.png').exists()
    assert (tmp_path / 'o' / 'export' / 'uc_merced' / 'manifest.json').exists()
