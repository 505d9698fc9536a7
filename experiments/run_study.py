"""The ZELPHA study on real UC Merced: train every model, then benchmark them all.

Usage:
    python experiments/run_study.py --root data/ucmerced [--out output/study]
        [--runs zelpha vanilla_cnn ...] [--seeds 0 1 2] [--max-minutes 30]
        [any torchgeo fit argument, e.g. --trainer.max_epochs=30]

Each run is one experiment config (``experiments/<name>.yaml``) and one seed
(``seed_everything``; the data split is always seed 0), trained by
``torchgeo fit`` in its own process with a wall-time cap (Lightning's
``max_time``), then benchmarked with ``ScaleShiftBenchmark`` on the test split at
s in {0.70, 0.85, 1.00, 1.15, 1.30}. The script resumes where it stopped:

* a run whose result file exists in ``experiments/study_results/`` is skipped
  (commit those small JSON files: a finished run is never repeated);
* an unfinished run continues from its last checkpoint under ``--out``.

Logs and checkpoints stay under ``--out`` (not in git). Same data, budget and
seeds for every model; on a GPU the same script runs faster (``--accelerator gpu``).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from torchgeo_zelpha.benchmark import ScaleShiftBenchmark
from torchgeo_zelpha.benchmark.classifiers import load_checkpoint
from torchgeo_zelpha.datamodules import ScaleShiftUCMercedDataModule
from torchgeo_zelpha.io import atomic_write_json

HERE = Path(__file__).parent
RESULTS = HERE / 'study_results'
DEFAULT_RUNS = (
    'vanilla_cnn', 'zelpha', 'torchgeo_resnet18',
    'zelpha_no_sn', 'zelpha_no_proto', 'zelpha_single_scale',
    'zelpha_sampled_scales', 'zelpha_single_scale_no_sn',
    'zelpha_single_scale_linear_head',
    'zelpha_64px', 'vanilla_cnn_64px', 'torchgeo_resnet18_64px',
    'zelpha_no_sn_64px', 'zelpha_no_proto_64px', 'zelpha_single_scale_64px',
    'zelpha_64px_120ep', 'vanilla_cnn_64px_120ep', 'torchgeo_resnet18_64px_120ep',
    'zelpha_64px_180ep', 'vanilla_cnn_64px_180ep', 'torchgeo_resnet18_64px_180ep',
)  # fmt: skip


def run_name(config: str, seed: int) -> str:
    return f'{config}_seed{seed}'


def newest(run_dir: Path, pattern: str) -> Path | None:
    """The newest file of a run matching ``pattern`` (each resume logs anew)."""
    found = sorted(run_dir.glob(pattern), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest ``last.ckpt`` of a run."""
    return newest(run_dir, '**/last.ckpt')


def saved_yaml(run_dir: Path, name: str) -> dict:
    """The newest ``logs/version_*/<name>`` the run saved, parsed (``{}`` if none)."""
    import yaml

    path = newest(run_dir, f'logs/version_*/{name}')
    return (yaml.safe_load(path.read_text()) or {}) if path else {}


#: glibc keeps freed memory for reuse instead of unmapping every block above
#: 32 MB (and page-faulting it back on the next call); see docs/performance.md.
REUSE_FREED_MEMORY = 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736'


def training_environment() -> dict[str, str]:
    """The environment of ``torchgeo fit``: how large CPU tensors are allocated.

    ``THP_MEM_ALLOC_ENABLE=1`` (PyTorch's own switch) backs them with huge pages and
    ``GLIBC_TUNABLES`` keeps freed memory for the next tensor; both are read when
    the process starts and change how fast, not what, a model computes
    (docs/performance.md). An explicit value in the caller's environment wins.
    """
    return {
        'THP_MEM_ALLOC_ENABLE': '1',
        'GLIBC_TUNABLES': REUSE_FREED_MEMORY,
    } | dict(os.environ)


def train(config: str, seed: int, args: argparse.Namespace) -> tuple[Path, float]:
    """Train (or resume) one run; return its checkpoint folder and wall time."""
    name = run_name(config, seed)
    run_dir = Path(args.out) / name
    last = last_checkpoint(run_dir)
    timing = run_dir / 'wall_seconds.json'
    spent = json.loads(timing.read_text())['seconds'] if timing.exists() else 0.0
    left = max(60.0, args.max_minutes * 60 - spent)
    cmd = [
        sys.executable,
        '-m',
        'torchgeo',
        'fit',
        '--config',
        str(HERE / f'{config}.yaml'),
        f'--seed_everything={seed}',
        f'--data.dict_kwargs.root={args.root}',
        f'--trainer.default_root_dir={run_dir}',
        # The CSV logger alone, under the run's folder: the study reads it back.
        '--trainer.logger='
        + json.dumps(
            [
                {
                    'class_path': 'lightning.pytorch.loggers.CSVLogger',
                    'init_args': {'save_dir': str(run_dir), 'name': 'logs'},
                }
            ]
        ),
        f'--trainer.accelerator={args.accelerator}',
        f'--trainer.max_time=00:{int(left // 3600):02d}:{int(left % 3600 // 60):02d}:'
        f'{int(left % 60):02d}',
        '--trainer.enable_progress_bar=false',
    ]
    if last is not None:
        cmd.append(f'--ckpt_path={last}')
    cmd += args.fit_args
    run_dir.mkdir(parents=True, exist_ok=True)
    print(f'[{name}] training ({left / 60:.1f} min left of its budget)', flush=True)
    start = time.perf_counter()
    with open(run_dir / 'train.log', 'a') as log:
        done = subprocess.run(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=training_environment()
        )
    spent += time.perf_counter() - start
    atomic_write_json(timing, {'seconds': spent})
    if done.returncode != 0:
        raise RuntimeError(f'{name}: torchgeo fit failed; see {run_dir / "train.log"}')
    return run_dir, spent


def trained_image_size(run_dir: Path, task: torch.nn.Module) -> int:
    """The image side the run trained at: its datamodule's ``image_size``.

    Read from the config LightningCLI saved with the run, so that a task without
    an ``input_size`` hyperparameter (TorchGeo's Classification) is benchmarked
    at its own resolution too.
    """
    config = saved_yaml(run_dir, 'config.yaml')
    size = config.get('data', {}).get('init_args', {}).get('image_size')
    if size is None:
        size = getattr(task, 'hparams', {}).get('input_size', 128)
    return int(size)


def model_settings(run_dir: Path) -> dict:
    """The task's hyperparameters as trained (the newest ``hparams.yaml``)."""
    settings = saved_yaml(run_dir, 'hparams.yaml')
    return {k: v for k, v in settings.items() if not k.startswith('_')}


def training_summary(run_dir: Path) -> dict:
    """Final validation metrics and per-epoch curves from the CSV log."""
    import csv

    rows = []
    for path in sorted((run_dir / 'logs').glob('version_*/metrics.csv')):
        with open(path) as f:
            rows += list(csv.DictReader(f))
    epochs: dict[int, dict[str, float]] = {}
    for row in rows:
        # TorchGeo's Classification task logs accuracy as val_OverallAccuracy.
        acc = row.get('val_acc') or row.get('val_OverallAccuracy')
        if acc:
            e = int(float(row['epoch']))
            epochs[e] = {
                k: float(v)
                for k, v in row.items()
                if v and k.startswith(('val_', 'lip_')) and 'Classwise' not in k
            } | {'val_acc': float(acc)}
    curve = [epochs[e] | {'epoch': e} for e in sorted(epochs)]
    keep = (
        'epoch',
        'val_acc',
        'val_loss',
        'val_margin_mean',
        'val_margin_min',
        'lip_upper_bound',
        'lip_empirical_noise',
        'lip_empirical_rescale',
    )
    return {
        'epochs': len(curve),
        'final': curve[-1] if curve else {},
        'curve': [{k: v for k, v in c.items() if k in keep} for c in curve],
    }


def machine(device: str) -> str:
    """A short description of where the run was measured."""
    if device == 'cuda':
        return torch.cuda.get_device_name()
    return f'CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', required=True, help='UC Merced root (materialized)')
    parser.add_argument('--out', default='output/study')
    parser.add_argument('--runs', nargs='+', default=list(DEFAULT_RUNS))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument(
        '--max-minutes',
        type=float,
        default=30.0,
        help='wall-time budget of each training run',
    )
    parser.add_argument('--accelerator', default='cpu')
    parser.add_argument(
        '--results',
        default=str(RESULTS),
        help='folder of the per-run result files (committed)',
    )
    # Anything else (--trainer.*, --model.*, --data.*) goes to torchgeo fit.
    args, args.fit_args = parser.parse_known_args()
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for config in args.runs:
            name = run_name(config, seed)
            result_file = results_dir / f'{name}.json'
            if result_file.exists():
                print(f'[{name}] done earlier: {result_file}')
                continue
            run_dir, seconds = train(config, seed, args)
            ckpt = last_checkpoint(run_dir)
            if ckpt is None:
                raise RuntimeError(
                    f'{name}: training wrote no checkpoint under {run_dir}'
                )
            task = load_checkpoint(ckpt)
            size = trained_image_size(run_dir, task)
            dm = ScaleShiftUCMercedDataModule(root=args.root, image_size=size, seed=0)
            device = (
                'cuda'
                if args.accelerator == 'gpu' and torch.cuda.is_available()
                else 'cpu'
            )
            bench = ScaleShiftBenchmark(dm, device=device, progress=False)
            result = bench.evaluate({config: task})
            summary = result.summary()
            record = {
                'run': name, 'config': f'experiments/{config}.yaml', 'seed': seed,
                'data': 'UC Merced (real), seeded 60/20/20 split (seed 0), test split',
                'image_size': size,
                'train_wall_seconds': seconds, 'max_minutes': args.max_minutes,
                'machine': machine(device),
                'thp_mem_alloc': training_environment()['THP_MEM_ALLOC_ENABLE'],
                'glibc_tunables': training_environment()['GLIBC_TUNABLES'],
                'command': ' '.join(sys.argv),
                'benchmark': summary['models'][config] | {'scales': summary['scales']},
                'settings': summary['settings'],
                'training': training_summary(run_dir),
                'model_settings': model_settings(run_dir),
            }  # fmt: skip
            atomic_write_json(result_file, record)
            print(f'[{name}] wrote {result_file}')
            print(result.to_markdown(), flush=True)


if __name__ == '__main__':
    main()
