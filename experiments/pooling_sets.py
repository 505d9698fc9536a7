"""Benchmark one trained ZELPHA checkpoint with other internal pooling scales.

Scale pooling at test time averages the features of the internal scales; whether a
wider or denser set than the one trained with makes the prediction more robust
needs no retraining to find out. This script loads a checkpoint, swaps the set of
internal scales of its scale-pooled backbone, and runs ``ScaleShiftBenchmark`` on
the test split for each set.

Usage: python experiments/pooling_sets.py --root data/ucmerced --checkpoint CKPT
           [--out experiments/study_results/diagnostics/pooling_sets.json]
"""

import argparse
import copy
import sys

from torchgeo_zelpha.benchmark import ScaleShiftBenchmark
from torchgeo_zelpha.benchmark.classifiers import load_checkpoint
from torchgeo_zelpha.datamodules import ScaleShiftUCMercedDataModule
from torchgeo_zelpha.io import atomic_write_json
from torchgeo_zelpha.tasks import ZelphaTask

#: Internal scale sets to compare with the one the checkpoint trained with.
SETS: dict[str, tuple[float, ...]] = {
    'none (1.0)': (1.0,),
    'denser (0.8 ... 1.2, step 0.1)': (0.8, 0.9, 1.0, 1.1, 1.2),
    'wider (0.7, 1.0, 1.4)': (0.7, 1.0, 1.4),
    'the test scales (0.70 ... 1.30)': (0.7, 0.85, 1.0, 1.15, 1.3),
    'wider and denser (0.7 ... 1.3, step 0.1)': (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--root', required=True, help='UC Merced root')
    parser.add_argument('--checkpoint', required=True, help='a ZelphaTask checkpoint')
    parser.add_argument('--out', help='write the results here as JSON (atomically)')
    args = parser.parse_args()
    task = load_checkpoint(args.checkpoint)
    if not isinstance(task, ZelphaTask):
        parser.error(f'{args.checkpoint} is not a ZelphaTask checkpoint')
    trained = tuple(task.model.backbone.scales)
    sets = {f'as trained ({", ".join(map(str, trained))})': trained} | SETS
    models = {}
    for name, scales in sets.items():
        model = copy.deepcopy(task)
        # The scales are plain data of the pooled backbone (no weights depend on
        # them), so swapping them changes only which zooms are averaged.
        model.model.backbone.scales = scales
        models[name] = model
    size = int(task.hparams['input_size'])
    dm = ScaleShiftUCMercedDataModule(root=args.root, image_size=size, seed=0)
    result = ScaleShiftBenchmark(dm, device='cpu', progress=False).evaluate(models)
    print(result.to_markdown())
    if args.out:
        summary = result.summary()
        atomic_write_json(
            args.out,
            {
                'command': ' '.join(['python', *sys.argv]),
                'checkpoint': args.checkpoint,
                'image_size': size,
                'data': 'UC Merced (real), seeded 60/20/20 split (seed 0), test split',
                'sets': {name: list(s) for name, s in sets.items()},
                'models': summary['models'],
                'scales': summary['scales'],
            },
        )


if __name__ == '__main__':
    main()
