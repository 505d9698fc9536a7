import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Trainer
from torchgeo.main import main

from torchgeo_zelpha.datamodules import ScaleShiftUCMercedDataModule
from torchgeo_zelpha.tasks import ZelphaTask

from ..conftest import quick_trainer

ROOT = Path(__file__).parents[2]
CONFIGS = sorted((ROOT / 'experiments').glob('*.yaml'))
SMALL = {'widths': (8, 16), 'feature_dim': 8, 'input_size': 32}


def fake_args(config: Path, tmp_path: Path) -> list[str]:
    eurosat = 'eurosat' in config.name
    root = ROOT / 'tests' / 'data' / ('eurosat' if eurosat else 'ucmerced')
    size = 16 if eurosat else 32
    args = [
        '--config',
        str(config),
        f'--data.dict_kwargs.root={root}',
        f'--data.init_args.image_size={size}',
        '--data.init_args.batch_size=8',
        f'--trainer.default_root_dir={tmp_path}',
        '--trainer.accelerator=cpu',
    ]
    if 'ZelphaTask' in config.read_text():  # shrink ZELPHA; TorchGeo's task as is
        args += [
            f'--model.init_args.input_size={size}',
            '--model.init_args.widths=[8, 16]',
        ]
    return args


@pytest.mark.parametrize('config', CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_config_fits_and_tests(config: Path, tmp_path: Path) -> None:
    args = fake_args(config, tmp_path)
    main(['fit', *args, '--trainer.fast_dev_run=1'])
    main(['test', *args, '--trainer.fast_dev_run=1'])
    if config.stem == 'zelpha':  # the other subcommands, once
        main(['validate', *args, '--trainer.fast_dev_run=1'])
        main(['predict', *args, '--trainer.fast_dev_run=1'])


def tiny_task(**kwargs: object) -> ZelphaTask:
    return ZelphaTask(**{**SMALL, 'num_classes': 21, **kwargs})  # type: ignore[arg-type]


def tiny_data(ucmerced_root: str) -> ScaleShiftUCMercedDataModule:
    return ScaleShiftUCMercedDataModule(
        root=ucmerced_root, image_size=32, batch_size=16
    )


def test_prototypes_reset_to_class_means(tmp_path: Path) -> None:
    task = tiny_task(warmup_epochs=10, prototype_reset_interval=1000)
    trainer = quick_trainer(tmp_path, limit_train_batches=1, limit_val_batches=0)
    task.trainer = trainer  # type: ignore[misc]
    trainer.strategy.connect(task)
    z = torch.randn(6, 8)
    labels = torch.tensor([0, 0, 1, 1, 1, 2])
    before = task.model.head.prototypes.detach().clone()
    task._accumulate_class_means(z[:3], labels[:3])
    task._accumulate_class_means(z[3:], labels[3:])
    task.reset_prototypes_to_class_means()
    after = task.model.head.prototypes.detach()
    assert torch.allclose(after[0], z[:2].mean(0))
    assert torch.allclose(after[1], z[2:5].mean(0))
    assert torch.allclose(after[2], z[5])
    assert torch.equal(after[3:], before[3:])  # unseen classes unchanged


@pytest.mark.parametrize(
    ('mode', 'expected'), [('periodic', 2), ('warmup_end', 1), ('never', 0)]
)
def test_prototype_reset_modes(
    ucmerced_root: str,
    mode: str,
    expected: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    task = tiny_task(
        warmup_epochs=1,
        beta_ramp_epochs=1,
        prototype_reset=mode,
        prototype_reset_interval=2,
    )
    calls = []
    reset = task.reset_prototypes_to_class_means
    monkeypatch.setattr(
        task, 'reset_prototypes_to_class_means', lambda: calls.append(reset())
    )
    trainer = quick_trainer(
        tmp_path, max_epochs=2, limit_train_batches=3, limit_val_batches=0
    )
    data = ScaleShiftUCMercedDataModule(root=ucmerced_root, image_size=32, batch_size=4)
    trainer.fit(task, data)
    # periodic: after warm-up step 2 and when the warm-up ends (step 3 left
    # means behind); warmup_end: once; never: the head is learned only.
    assert len(calls) == expected


def test_fit_logs_margins_and_lipschitz(ucmerced_root: str, tmp_path: Path) -> None:
    from lightning.pytorch.loggers import CSVLogger

    task = tiny_task(warmup_epochs=1, beta_ramp_epochs=1, prototype_reset_interval=2)
    trainer = Trainer(
        accelerator='cpu',
        max_epochs=2,
        logger=CSVLogger(tmp_path),
        enable_progress_bar=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(task, tiny_data(ucmerced_root))
    m = trainer.callback_metrics
    for key in (
        'val_margin_mean',
        'val_margin_min',
        'val_margin_q50',
        'lip_upper_bound',
        'lip_empirical_noise',
        'lip_empirical_rescale',
        'train_proto_loss',
        'train_lip_loss',
        'val_acc',
    ):
        assert key in m, key
    assert 0 < float(m['lip_empirical_noise']) <= float(m['lip_upper_bound'])
    assert float(m['beta']) > 0
    assert any(k.startswith('lip_layer/') for k in m)
    assert any(k.startswith('val_acc_class/') for k in m)


def test_gamma_fallback_on_divergence(ucmerced_root: str) -> None:
    task = tiny_task(warmup_epochs=0, gamma=1.0, watch_window=1, watch_tolerance=0.0)
    assert task._checked(torch.tensor(1.0), gamma=1.0) is not None
    assert not bool(task.gamma_disabled)
    with pytest.warns(UserWarning, match='falling back to gamma = 0'):
        task._checked(torch.tensor(5.0), gamma=1.0)
    assert bool(task.gamma_disabled)
    # A non-finite loss never reaches the weights: the step is skipped.
    assert task._checked(torch.tensor(float('nan')), gamma=0.0) is None


def test_nan_gradients_are_dropped() -> None:
    task = tiny_task()
    for p in task.parameters():
        p.grad = torch.full_like(p, float('nan'))
    with pytest.warns(UserWarning, match='non-finite gradients'):
        task.on_before_optimizer_step(None)  # type: ignore[arg-type]
    assert all(p.grad is None for p in task.parameters())


def test_checkpoint_roundtrip_resume_and_mismatch(
    ucmerced_root: str, tmp_path: Path
) -> None:
    # One-cycle's length is fixed by max_epochs; resuming to more epochs needs an
    # open-ended schedule such as cosine.
    task = tiny_task(warmup_epochs=0, scheduler='cosine')
    trainer = quick_trainer(tmp_path)
    data = tiny_data(ucmerced_root)
    trainer.fit(task, data)
    ckpt = tmp_path / 'model.ckpt'
    trainer.save_checkpoint(ckpt)
    loaded = ZelphaTask.load_from_checkpoint(ckpt)
    x = torch.rand(2, 3, 32, 32)
    task.eval()
    loaded.eval()
    assert torch.allclose(task(x), loaded(x), atol=1e-5)
    resumed = quick_trainer(tmp_path, max_epochs=2)
    resumed.fit(tiny_task(warmup_epochs=0, scheduler='cosine'), data, ckpt_path=ckpt)
    assert resumed.current_epoch == 2
    with pytest.raises(ValueError, match=r'trained for 21 classes.*num_classes=10'):
        ZelphaTask.load_from_checkpoint(ckpt, num_classes=10)
    with pytest.raises(ValueError, match='does not match'):
        ZelphaTask.load_from_checkpoint(ckpt, feature_dim=6)


def test_test_reports_every_scale(ucmerced_root: str) -> None:
    trainer = Trainer(accelerator='cpu', logger=False, enable_progress_bar=False)
    per_loader = trainer.test(tiny_task(), tiny_data(ucmerced_root))
    assert len(per_loader) == 5
    results = {k: v for d in per_loader for k, v in d.items()}
    for s in ('0.70', '0.85', '1.00', '1.15', '1.30'):
        assert f'test_acc_s{s}' in results and f'test_margin_mean_s{s}' in results


def test_works_with_torchgeo_ucmerced_datamodule(ucmerced_root: str) -> None:
    from torchgeo.datamodules import UCMercedDataModule

    dm = UCMercedDataModule(root=ucmerced_root, batch_size=4)
    task = ZelphaTask(
        num_classes=21, widths=(4,), feature_dim=4, input_size=256, scales=(1.0,)
    )
    trainer = Trainer(accelerator='cpu', fast_dev_run=1, logger=False)
    trainer.fit(task, dm)


def test_works_with_torchgeo_eurosat_datamodule() -> None:
    from torchgeo.datamodules import EuroSATDataModule

    root = ROOT / 'tests' / 'data' / 'eurosat'
    dm = EuroSATDataModule(root=str(root), batch_size=4)  # all 13 bands
    task = ZelphaTask(
        num_classes=10,
        in_channels=13,
        widths=(4,),
        feature_dim=4,
        input_size=64,
        scales=(0.8, 1.0, 1.2),
    )
    trainer = Trainer(accelerator='cpu', fast_dev_run=1, logger=False)
    trainer.fit(task, dm)
    trainer.test(task, dm)


def test_ddp_two_cpu_processes(tmp_path: Path) -> None:
    """fit with strategy=ddp on 2 CPU processes: metrics synced, prototypes equal."""
    config = ROOT / 'experiments' / 'zelpha.yaml'
    probe = tmp_path / 'probe'
    cmd = [
        sys.executable,
        '-m',
        'torchgeo',
        'fit',
        *fake_args(config, tmp_path),
        '--trainer.strategy=ddp',
        '--trainer.devices=2',
        '--trainer.max_epochs=2',
        '--trainer.logger=false',
        '--trainer.enable_progress_bar=false',
        '--model.init_args.warmup_epochs=1',
        '--model.init_args.prototype_reset_interval=2',
        '--trainer.callbacks+=tests.tasks.ddp_probe.DumpRankState',
        f'--trainer.callbacks.out_dir={probe}',
    ]
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'}
    done = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = (torch.load(probe / f'rank{r}.pt') for r in (0, 1))
    assert rank0['world_size'] == 2
    assert torch.equal(rank0['prototypes'], rank1['prototypes'])
    assert rank0['metrics'] == rank1['metrics'] and 'val_acc' in rank0['metrics']
