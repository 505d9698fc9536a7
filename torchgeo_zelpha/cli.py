"""The ``zelpha`` command: the main job, export and the Checkpoint A figure."""

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from .benchmark import cli as benchmark_cli
from .data_source import resolve_ucmerced_root
from .datamodules.scale_shift import DEFAULT_TEST_SCALES
from .datasets.splits import SPLITS
from .datasets.ucmerced import ScaleShiftUCMerced
from .export import export_scale_shift_splits
from .io import atomic_save_figure
from .visualization import plot_scale_shift

__all__ = ('main',)


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--root', default='data/ucmerced', help='UC Merced root')
    parser.add_argument('--seed', type=int, default=0, help='split seed')
    parser.add_argument(
        '--split-ratios',
        type=float,
        nargs=3,
        default=(0.6, 0.2, 0.2),
        metavar=('TRAIN', 'VAL', 'TEST'),
    )
    parser.add_argument(
        '--scales', type=float, nargs='+', default=list(DEFAULT_TEST_SCALES)
    )


def _split_sizes(root: Path, seed: int, ratios: Sequence[float]) -> dict[str, int]:
    return {
        split: len(ScaleShiftUCMerced(root, split, seed=seed, split_ratios=ratios))
        for split in SPLITS
    }


def figure(args: argparse.Namespace) -> Path:
    """Write the Checkpoint A figure for one test image."""
    ds = ScaleShiftUCMerced(
        args.root, 'test', seed=args.seed, split_ratios=args.split_ratios
    )
    index = args.index
    if index is None:  # an image with a distinct object makes the check easiest
        airplane = ds.class_to_idx.get('airplane')
        index = ds.targets.index(airplane) if airplane in ds.targets else 0
    sample = ds[index]
    fig = plot_scale_shift(
        sample['image'],
        args.scales,
        title=f'{ds.classes[int(sample["label"])]}: '
        'scale shift about the centre (boxes: original central half)',
    )
    path = atomic_save_figure(fig, args.output)
    print(f'Checkpoint A figure: {path}')
    return path


def export(args: argparse.Namespace) -> Path:
    """Export the splits and the scale-shifted test sets."""
    out = export_scale_shift_splits(
        ScaleShiftUCMerced,
        args.root,
        args.out,
        scales=args.scales,
        image_size=args.image_size,
        overwrite=args.overwrite,
        seed=args.seed,
        split_ratios=tuple(args.split_ratios),
    )
    print(f'exported splits and test scales {args.scales} to {out}')
    return out


def demo(args: argparse.Namespace) -> None:
    """The main job: data pipeline, brief training and the scale-shift benchmark."""
    start = time.perf_counter()
    out = Path(args.out)
    source = resolve_ucmerced_root(
        args.root, out / 'synthetic_ucmerced', download=args.download
    )
    print(f'data: {source.description}')
    sizes = _split_sizes(source.root, args.seed, args.split_ratios)
    print('split sizes: ' + ', '.join(f'{k} {v}' for k, v in sizes.items()))
    args.root = source.root
    args.output = out / 'checkpoint_a.png'
    args.index = None
    figure(args)
    export_args = argparse.Namespace(**{**vars(args), 'out': out / 'export'})
    export_args.overwrite = True
    export(export_args)
    train_and_benchmark(args, source.root, out)
    print(f'done in {time.perf_counter() - start:.1f} s')


def train_and_benchmark(args: argparse.Namespace, root: Path, out: Path) -> None:
    """Train each demo variant briefly, then benchmark them all across scales."""
    from lightning.pytorch import Trainer, seed_everything
    from lightning.pytorch.loggers import CSVLogger

    from .benchmark import ScaleShiftBenchmark
    from .datamodules import ScaleShiftUCMercedDataModule
    from .tasks import ZelphaTask

    dm = ScaleShiftUCMercedDataModule(
        batch_size=32,
        image_size=args.image_size,
        test_scales=args.scales,
        train_scale_range=(0.7, 1.4),
        root=root,
        seed=args.seed,
        split_ratios=tuple(args.split_ratios),
    )
    models = {}
    for name in args.variants:
        seed_everything(args.seed, verbose=False)
        task = ZelphaTask.variant(
            name,
            input_size=args.image_size,
            warmup_epochs=max(1, args.epochs // 3),
            beta_ramp_epochs=1,
        )
        trainer = Trainer(
            max_epochs=args.epochs,
            accelerator='cpu',
            devices=1,
            logger=CSVLogger(out / 'logs', name=name),
            enable_checkpointing=False,
            enable_model_summary=False,
            log_every_n_steps=5,
        )
        print(f'training {name} for {args.epochs} epochs at {args.image_size} px')
        trainer.fit(task, dm)
        trainer.save_checkpoint(out / 'checkpoints' / f'{name}.ckpt')
        models[name] = task
    bench = ScaleShiftBenchmark(dm, args.scales, progress=False)
    result = bench.evaluate(models)
    result.settings.update(
        {
            'epochs': args.epochs,
            'image_size': args.image_size,
            'seed': args.seed,
            'data': str(root),
        }
    )
    result.write(out / 'benchmark')
    ScaleShiftBenchmark.save_plots(result, out / 'benchmark')
    print('\naccuracy (%) vs scale on the test split:')
    print(result.to_markdown())
    print(f'benchmark files and plots: {out / "benchmark"}')


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``zelpha`` console script."""
    parser = argparse.ArgumentParser(
        prog='zelpha', description='Scale-robust scene classification (ZELPHA).'
    )
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('demo', help='the main job, end to end')
    _add_data_args(p)
    p.add_argument('--out', default='output/demo', help='output folder')
    p.add_argument('--download', action='store_true', help='try downloading UC Merced')
    p.add_argument('--image-size', type=int, default=64, help='training input size')
    p.add_argument('--epochs', type=int, default=6, help='training epochs per model')
    p.add_argument(
        '--variants',
        nargs='+',
        default=['vanilla_cnn', 'zelpha'],
        help='models to train (names of torchgeo_zelpha.models.VARIANTS)',
    )
    p.set_defaults(func=demo)

    p = sub.add_parser('export', help='export splits and scale-shifted test sets')
    _add_data_args(p)
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--image-size', type=int, default=None)
    p.add_argument('--overwrite', action='store_true')
    p.set_defaults(func=export)

    p = sub.add_parser('figure', help='Checkpoint A: one image at every scale')
    _add_data_args(p)
    p.add_argument(
        '--index', type=int, default=None, help='test image (default: an airplane)'
    )
    p.add_argument('--output', default='output/checkpoint_a.png')
    p.set_defaults(func=figure)

    p = sub.add_parser('benchmark', help='ScaleShiftBenchmark on checkpoints')
    benchmark_cli.add_arguments(p)
    p.set_defaults(func=benchmark_cli.run)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == '__main__':
    main()
