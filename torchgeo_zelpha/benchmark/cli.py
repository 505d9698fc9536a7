"""``zelpha benchmark`` / ``python -m torchgeo_zelpha.benchmark``."""

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch
from lightning.pytorch import Trainer

from ..datamodules import (
    DEFAULT_TEST_SCALES,
    ScaleShiftEuroSATDataModule,
    ScaleShiftUCMercedDataModule,
)
from .classifiers import load_checkpoint
from .results import BenchmarkResult
from .scale_shift_benchmark import ScaleShiftBenchmark

__all__ = ('add_arguments', 'main', 'run')

DATAMODULES = {
    'ucmerced': ScaleShiftUCMercedDataModule,
    'eurosat': ScaleShiftEuroSATDataModule,
}


def _named_path(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition('=')
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f'expected NAME=CHECKPOINT, got {text!r}')
    return name, Path(path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's arguments to ``parser``."""
    parser.add_argument(
        '--model',
        dest='models',
        type=_named_path,
        action='append',
        required=True,
        metavar='NAME=CHECKPOINT',
        help='a Lightning checkpoint (repeat for several)',
    )
    parser.add_argument('--dataset', choices=sorted(DATAMODULES), default='ucmerced')
    parser.add_argument('--root', default='data/ucmerced', help='dataset root')
    parser.add_argument('--seed', type=int, default=0, help='split seed')
    parser.add_argument(
        '--image-size',
        type=int,
        default=None,
        help='model input size (default: from the first ZELPHA checkpoint)',
    )
    parser.add_argument(
        '--scales', type=float, nargs='+', default=list(DEFAULT_TEST_SCALES)
    )
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--out', default='output/benchmark', help='output folder')
    parser.add_argument('--accelerator', default='cpu')
    parser.add_argument('--devices', type=int, default=1)
    parser.add_argument(
        '--strategy',
        default=None,
        help='a Lightning strategy (e.g. ddp): evaluate under Lightning',
    )
    parser.add_argument('--num-nodes', type=int, default=1)
    parser.add_argument('--no-progress', action='store_true')


def run(args: argparse.Namespace) -> BenchmarkResult:
    """Run the benchmark described by parsed arguments; print and write results."""
    models = {name: load_checkpoint(path) for name, path in args.models}
    image_size = args.image_size
    if image_size is None:
        sizes = [
            m.hparams['input_size']
            for m in models.values()
            if 'input_size' in m.hparams
        ]
        image_size = sizes[0] if sizes else 128
    dm = DATAMODULES[args.dataset](
        root=args.root, seed=args.seed, image_size=image_size, test_scales=args.scales
    )
    distributed = args.strategy is not None or args.devices > 1 or args.num_nodes > 1
    device = (
        'cuda'
        if args.accelerator in ('gpu', 'cuda') and torch.cuda.is_available()
        else 'cpu'
    )
    bench = ScaleShiftBenchmark(
        dm, args.scales, args.batch_size, device=device, progress=not args.no_progress
    )
    if distributed:
        trainer = Trainer(
            accelerator=args.accelerator,
            devices=args.devices,
            num_nodes=args.num_nodes,
            strategy=args.strategy or 'auto',
            logger=False,
            enable_progress_bar=not args.no_progress,
            enable_model_summary=False,
        )
        result = bench.evaluate_with_trainer(models, trainer)
        if trainer.global_rank != 0:
            return result
    else:
        result = bench.evaluate(models)
    result.settings.update(
        {
            'dataset': args.dataset,
            'root': str(args.root),
            'seed': args.seed,
            'image_size': image_size,
        }
    )
    files = result.write(args.out)
    plots = ScaleShiftBenchmark.save_plots(result, args.out)
    print(result.to_markdown())
    print('wrote ' + ', '.join(str(p) for p in [*files.values(), *plots.values()]))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m torchgeo_zelpha.benchmark``."""
    parser = argparse.ArgumentParser(
        prog='zelpha-benchmark',
        description='Accuracy, robust accuracy and margins of classifiers vs scale.',
    )
    add_arguments(parser)
    run(parser.parse_args(argv))
