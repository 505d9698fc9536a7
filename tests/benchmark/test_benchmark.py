import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from lightning.pytorch import Trainer

from torchgeo_zelpha.benchmark import ScaleShiftBenchmark
from torchgeo_zelpha.benchmark.classifiers import load_checkpoint
from torchgeo_zelpha.datamodules import ScaleShiftUCMercedDataModule

ROOT = Path(__file__).parents[2]
SCALES = (0.7, 1.0, 1.3)
NUM_CLASSES = 4


def square_dataset() -> list[tuple[torch.Tensor, int]]:
    """Images with a centred square (channel 0) and their label written in channel 1."""
    items = []
    for i in range(12):
        label = i % NUM_CLASSES
        image = torch.zeros(2, 32, 32)
        image[0, 8:24, 8:24] = 1.0
        image[1] = label / 10
        items.append((image, label))
    return items


class KnownAnswers(nn.Module):
    """Answers are known in advance from the image's scale and label.

    It reads the zoom factor off the square's area (side 16 s on a 32 image) and the
    label from channel 1, then predicts: class 0 always wrong; odd classes always
    right; class 2 right only when s < 1.1 (so wrong at s = 1.3).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        label = (x[:, 1].mean(dim=(1, 2)) * 10).round().long()
        s = 2 * x[:, 0].mean(dim=(1, 2)).sqrt()
        right = (label % 2 == 1) | ((label == 2) & (s < 1.1))
        pred = torch.where(right, label, (label + 1) % NUM_CLASSES)
        return 2 * nn.functional.one_hot(pred, NUM_CLASSES).float()


def test_every_number_of_the_tables(tmp_path: Path) -> None:
    bench = ScaleShiftBenchmark(square_dataset(), SCALES, batch_size=5, progress=False)
    result = bench.evaluate({'known': KnownAnswers()})
    r = result.models['known']
    # 12 images, 3 per class. Right: classes 1, 3 everywhere (6), class 2 at s < 1.1.
    assert r.accuracy == {
        0.7: pytest.approx(9 / 12),
        1.0: pytest.approx(9 / 12),
        1.3: pytest.approx(6 / 12),
    }
    assert r.robust_accuracy == pytest.approx(6 / 12)
    assert r.mean_accuracy == pytest.approx((9 + 9 + 6) / 36)
    assert r.worst_accuracy == pytest.approx(6 / 12)
    per_class = r.per_class_accuracy(NUM_CLASSES)
    assert per_class[:, 2].tolist() == [0.0, 1.0, 0.0, 1.0]  # every class at s = 1.3
    assert per_class[2].tolist() == [1.0, 1.0, 0.0]  # class 2 at every scale
    assert per_class[0].tolist() == [0.0, 0.0, 0.0]
    # Logits are 2 * one-hot: margin +2 when right, -2 when wrong.
    assert torch.equal(r.margins, torch.where(r.correct, 2.0, -2.0))
    assert r.margin_kind == 'logit'
    table = result.to_markdown()
    assert '| known | 75.0 | 75.0 | 50.0 | 50.0 | 66.7 | 50.0 |' in table
    files = result.write(tmp_path)
    summary = json.loads(files['json'].read_text())
    assert summary['models']['known']['robust_accuracy'] == pytest.approx(0.5)
    rows = files['csv'].read_text().splitlines()
    # margin mean at s = 0.70: (9 * 2 - 3 * 2) / 12 = 1; 5 % quantile -2
    assert rows[1].startswith('known,0.70,0.750000,0.500000,logit,1.000000,-2.000000')
    assert len(files['per_image'].read_text().splitlines()) == 13
    plots = ScaleShiftBenchmark.save_plots(result, tmp_path)
    for path in plots.values():
        assert path.read_bytes()[:4] == b'\x89PNG'


def test_dict_datasets_and_preprocessing() -> None:
    data = [{'image': img, 'label': torch.tensor(lbl)} for img, lbl in square_dataset()]
    bench = ScaleShiftBenchmark(data, SCALES, progress=False)
    # A preprocessing that scrambles the label channel makes every answer wrong
    # for odd classes, proving it is applied.
    shift = (KnownAnswers(), lambda x: torch.cat([x[:, :1], x[:, 1:] + 0.1], dim=1))
    result = bench.evaluate({'plain': KnownAnswers(), 'shifted': shift})
    assert result.models['plain'].robust_accuracy == pytest.approx(0.5)
    assert result.models['shifted'].robust_accuracy != pytest.approx(0.5)


def test_bad_input(tmp_path: Path) -> None:
    data = square_dataset()
    with pytest.raises(ValueError, match='empty'):
        ScaleShiftBenchmark(data, scales=())
    with pytest.raises(ValueError, match='> 0'):
        ScaleShiftBenchmark(data, scales=(1.0, 0.0))
    bench = ScaleShiftBenchmark(data, SCALES, progress=False)
    with pytest.raises(ValueError, match='no models'):
        bench.evaluate({})
    with pytest.raises(ValueError, match='class-count mismatch'):
        bench.evaluate({'wide': nn.Sequential(nn.Flatten(), nn.Linear(2 * 32 * 32, 7))})
    with pytest.raises(ValueError, match=r'\[B, K\] logits'):
        bench.evaluate({'flat': nn.Flatten(0)})
    garbage = tmp_path / 'bad.ckpt'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match='unreadable checkpoint'):
        bench.evaluate({'bad': garbage})
    with pytest.raises(FileNotFoundError):
        bench.evaluate({'missing': tmp_path / 'missing.ckpt'})
    with pytest.raises(TypeError, match=r'nn\.Module'):
        bench.evaluate({'number': 3})  # type: ignore[dict-item]


def test_tasks_checkpoints_and_lightning_agree(
    ucmerced_root: str, tiny_checkpoint: Path
) -> None:
    dm = ScaleShiftUCMercedDataModule(root=ucmerced_root, image_size=32)
    bench = ScaleShiftBenchmark(dm, progress=False)
    task = load_checkpoint(tiny_checkpoint)
    direct = bench.evaluate({'task': task, 'path': tiny_checkpoint})
    assert direct.models['task'].margin_kind == 'prototype'
    assert torch.equal(
        direct.models['task'].predictions, direct.models['path'].predictions
    )
    trainer = Trainer(accelerator='cpu', logger=False, enable_progress_bar=False)
    via = bench.evaluate_with_trainer({'task': task}, trainer)
    assert torch.equal(
        via.models['task'].predictions, direct.models['task'].predictions
    )
    assert torch.allclose(
        via.models['task'].margins, direct.models['task'].margins, atol=1e-5
    )


def test_torchgeo_classification_task(ucmerced_root: str) -> None:
    from torchgeo.tasks import Classification

    task = Classification(model='resnet18', num_classes=21, in_channels=3)
    dm = ScaleShiftUCMercedDataModule(root=ucmerced_root, image_size=32)
    result = ScaleShiftBenchmark(dm, (1.0,), progress=False).evaluate({'resnet': task})
    assert result.models['resnet'].margin_kind == 'logit'
    assert result.models['resnet'].predictions.shape == (21, 1)


def test_cli_ddp_matches_single_process(
    ucmerced_root: str, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """Under DDP on 2 CPU processes (21 images: the sampler pads one duplicate),
    every number equals the single-process run."""
    common = [
        sys.executable,
        '-m',
        'torchgeo_zelpha.benchmark',
        '--model',
        f'tiny={tiny_checkpoint}',
        '--root',
        ucmerced_root,
        '--image-size',
        '32',
        '--batch-size',
        '4',
        '--no-progress',
    ]
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    single = subprocess.run(
        [*common, '--out', str(tmp_path / 'one')],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, single.stderr[-2000:]
    ddp = subprocess.run(
        [
            *common,
            '--out',
            str(tmp_path / 'two'),
            '--devices',
            '2',
            '--strategy',
            'ddp',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    one = json.loads((tmp_path / 'one' / 'results.json').read_text())['models']['tiny']
    two = json.loads((tmp_path / 'two' / 'results.json').read_text())['models']['tiny']
    assert two['images'] == one['images'] == 21
    for key in ('accuracy', 'robust_accuracy', 'per_class_accuracy'):
        assert two[key] == one[key], key
    assert (tmp_path / 'one' / 'per_image.csv').read_text() == (
        tmp_path / 'two' / 'per_image.csv'
    ).read_text()
