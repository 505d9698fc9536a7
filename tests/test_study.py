import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from torchgeo_zelpha.benchmark import ScaleShiftBenchmark
from torchgeo_zelpha.benchmark.classifiers import load_checkpoint
from torchgeo_zelpha.datamodules import ScaleShiftUCMercedDataModule

ROOT = Path(__file__).parents[1]


def load_script(name: str, folder: str = 'experiments') -> ModuleType:
    """Import one of the repo's scripts (they are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / folder / f'{name}.py')
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_study_runs_resumes_and_reports(tmp_path: Path) -> None:
    results = tmp_path / 'results'
    cmd = [
        sys.executable,
        str(ROOT / 'experiments' / 'run_study.py'),
        '--root',
        str(ROOT / 'tests' / 'data' / 'ucmerced'),
        '--out',
        str(tmp_path / 'out'),
        '--runs',
        'vanilla_cnn',
        '--results',
        str(results),
        '--trainer.max_epochs=1',
        '--data.init_args.image_size=32',
        '--model.init_args.input_size=32',
        '--model.init_args.widths=[8, 16]',
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    record = json.loads((results / 'vanilla_cnn_seed0.json').read_text())
    assert set(record['benchmark']['accuracy']) == {
        '0.70',
        '0.85',
        '1.00',
        '1.15',
        '1.30',
    }
    assert record['training']['epochs'] == 1
    assert record['image_size'] == 32  # benchmarked at the size it trained at
    # The settings as trained, overrides included, travel with the result.
    assert record['model_settings']['widths'] == [8, 16]
    assert record['model_settings']['head'] == 'linear'
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert 'done earlier' in again.stdout  # a finished run is never repeated
    out = tmp_path / 'results.md'
    readme = tmp_path / 'README.md'
    readme.write_text('intro\n<!-- results:start -->\nold\n<!-- results:end -->\nend\n')
    subprocess.run(
        [
            sys.executable,
            str(ROOT / 'experiments' / 'make_results.py'),
            '--results',
            str(results),
            '--out',
            str(out),
            '--skip-lipschitz',
            '--readme',
            str(readme),
            '--headline',
            'vanilla_cnn',
        ],
        check=True,
        cwd=ROOT,
    )
    assert '| vanilla_cnn | 32 | 0 |' in out.read_text()  # trained and tested at 32 px
    text = readme.read_text()  # the headline table is regenerated in place
    assert text.startswith('intro\n') and text.endswith('end\n')
    assert '| vanilla_cnn | 32 | 0 |' in text and 'old' not in text
    # ...followed by the headline model's targets, said plainly.
    assert '- Clean test accuracy >= 90 %' in text


def test_training_summary_reads_torchgeo_metric_names(tmp_path: Path) -> None:
    run_study = load_script('run_study')
    log = tmp_path / 'logs' / 'version_0'
    log.mkdir(parents=True)
    (log / 'metrics.csv').write_text(
        'epoch,step,train_loss,val_OverallAccuracy,val_ClasswiseAccuracy_0,val_loss\n'
        '0,10,2.0,,,\n'
        '0,39,,0.25,0.5,2.5\n'
        '1,79,,0.75,1.0,1.5\n'
    )
    summary = run_study.training_summary(tmp_path)
    assert summary['epochs'] == 2
    final = summary['final']
    assert final['epoch'] == 1 and final['val_acc'] == 0.75 and final['val_loss'] == 1.5
    assert not any('Classwise' in k for k in final)
    assert [c['val_acc'] for c in summary['curve']] == [0.25, 0.75]


def fake_run(acc: float, robust: float, seed: int) -> dict:
    scales = ('0.70', '0.85', '1.00', '1.15', '1.30')
    return {
        'seed': seed,
        'benchmark': {
            'accuracy': dict.fromkeys(scales, acc),
            'robust_accuracy': robust,
            'worst_accuracy': acc,
        },
    }


def test_targets_compare_against_the_seed_spread() -> None:
    make_results = load_script('make_results')
    by_config = {
        # ZELPHA ahead of the vanilla CNN by 5 points, seed spread 1 point.
        'zelpha': [fake_run(0.92, r, s) for s, r in enumerate((0.86, 0.87, 0.88))],
        'vanilla_cnn': [fake_run(0.90, r, s) for s, r in enumerate((0.81, 0.82, 0.83))],
        # ZELPHA ahead of resnet18 by 1 point only: within the 1-point spread.
        'torchgeo_resnet18': [
            fake_run(0.95, r, s) for s, r in enumerate((0.85, 0.86, 0.87))
        ],
    }
    lines = '\n'.join(make_results.targets(by_config, 'zelpha'))
    assert 'Clean test accuracy >= 90 %: 92.0 % (met)' in lines
    assert 'Robust accuracy >= 85 %: 87.0 % (met)' in lines
    assert (
        'Beats vanilla_cnn on robust accuracy: 87.0 vs 82.0 % '
        '(lead 5.0 vs seed spread 1.0: met)' in lines
    )
    assert (
        'Beats torchgeo_resnet18 on robust accuracy: 87.0 vs 86.0 % '
        '(lead 1.0 vs seed spread 1.0: MISSED)' in lines
    )
    assert (
        'Beats torchgeo_resnet18 on worst-scale accuracy: 92.0 vs 95.0 % (MISSED)'
        in lines
    )
    assert 'At least 3 seeds for the headline comparison: met' in lines
    # Other baselines (the 64 px study's) are named, not assumed.
    renamed = dict(zip(('z', 'v64', 'r64'), by_config.values(), strict=True))
    lines = '\n'.join(make_results.targets(renamed, 'z', ('v64', 'r64')))
    assert 'Beats v64 on robust accuracy: 87.0 vs 82.0 % (lead 5.0' in lines
    assert "At least 3 seeds for the headline comparison: met ({'z': 3" in lines
    # One seed has no spread: a lead is reported, not claimed.
    single = {k: v[:1] for k, v in by_config.items()}
    lines = '\n'.join(make_results.targets(single, 'zelpha'))
    assert 'needs >= 2 seeds' in lines
    assert 'At least 3 seeds for the headline comparison: MISSED' in lines


def test_throughput_script_runs() -> None:
    cmd = [
        sys.executable,
        str(ROOT / 'benchmarks' / 'throughput.py'),
        '--sizes',
        '32',
        '--batch',
        '2',
        '--repeats',
        '1',
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '| zelpha | 32 |' in done.stdout
    assert 'batched' in done.stdout and 'looped' in done.stdout
    assert 'zooms' in done.stdout and 'backbone on S*B' in done.stdout
    assert 'batched / single: median' in done.stdout


def test_interleaved_timing_rotates_order_and_compares_within_rounds() -> None:
    throughput = load_script('throughput', 'benchmarks')
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in 'abc'}
    times = throughput.interleaved(fns, rounds=3)
    assert {name: len(t) for name, t in times.items()} == {'a': 3, 'b': 3, 'c': 3}
    # One warm-up call each, then each round starts one name further on.
    assert ''.join(calls) == 'abc' + 'abc' + 'bca' + 'cab'
    summary = throughput.ratio_summary([2.0, 3.5, 3.0], [1.0, 1.0, 1.0], 3)
    assert summary == 'median 3.00x (range 2.00x-3.50x; <= 3x in 2 of 3 rounds)'


def test_component_table_subtracts_means_of_each_side() -> None:
    make_results = load_script('make_results')
    by_config = {
        'zelpha_single_scale': [fake_run(0.80, 0.70, 0)],
        'vanilla_cnn': [fake_run(0.86, 0.74, 0), fake_run(0.88, 0.78, 1)],
    }
    rows = make_results.component_table(by_config)
    together = [r for r in rows if 'together' in r]
    assert together == [
        '| spectral norm and prototype head together (one scale) | '
        'zelpha_single_scale | vanilla_cnn | -7.0 | -6.0 | -7.0 | 1 / 2 |'
    ]
    assert len(rows) == 3  # header, rule, the one pair with both sides measured


def test_screen_table_reads_committed_screens(tmp_path: Path) -> None:
    make_results = load_script('make_results')
    record = fake_run(0.879, 0.688, 0)
    record['benchmark'] |= {
        'margin': {'1.00': {'mean': 0.227}},
        'margin_kind': 'prototype',
    }
    (tmp_path / 'never_m1.json').write_text(json.dumps(record))
    rows = make_results.screen_table(tmp_path)
    assert rows[2:] == [
        '| never_m1 (zelpha_single_scale) | prototypes at 0, never reset, margin 1: '
        'the recipe in the configs now | 87.9 | 68.8 | 87.9 | 0.227 (prototype) | '
        '(none) |'
    ]
    # Every screen's flags must parse as overrides of its config.
    for _, config, _, flags in make_results.SCREENS:
        assert (ROOT / 'experiments' / f'{config}.yaml').exists()
        assert all(f.startswith('--') for f in flags.split()[::2])


def test_pooling_sets_swaps_only_the_internal_scales(
    ucmerced_root: str,
    tiny_checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pooling_sets = load_script('pooling_sets')
    out = tmp_path / 'sets.json'
    argv = ['pooling_sets.py', '--root', ucmerced_root, '--checkpoint']
    monkeypatch.setattr(sys, 'argv', [*argv, str(tiny_checkpoint), '--out', str(out)])
    pooling_sets.main()
    record = json.loads(out.read_text())
    trained_name = 'as trained (0.8, 1.0, 1.2)'  # named from the checkpoint
    assert set(record['models']) == {trained_name, *pooling_sets.SETS}
    assert record['image_size'] == 32  # the size the checkpoint trained at
    rows = load_script('make_results').pooling_sets_table(out)
    assert rows[4].startswith('| none (1.0) |')  # fewest scales first
    assert len(rows) == 4 + 1 + len(pooling_sets.SETS)
    # The set it trained with scores exactly what the unchanged checkpoint scores.
    dm = ScaleShiftUCMercedDataModule(root=ucmerced_root, image_size=32, seed=0)
    bench = ScaleShiftBenchmark(dm, progress=False)
    direct = bench.evaluate({'ckpt': load_checkpoint(tiny_checkpoint)}).summary()
    trained = record['models'][trained_name]
    assert trained['accuracy'] == direct['models']['ckpt']['accuracy']
    assert trained['robust_accuracy'] == direct['models']['ckpt']['robust_accuracy']


def test_headline_block_shows_only_the_headline_and_its_targets() -> None:
    make_results = load_script('make_results')
    by_config = {
        name: [
            fake_run(acc, 0.8, 0)
            | {'training': {'epochs': 3}, 'train_wall_seconds': 120, 'machine': 'cpu'}
            | {'image_size': 64}
        ]
        for name, acc in (('z', 0.92), ('v', 0.90), ('other', 0.5))
    }
    lines = make_results.headline_block(by_config, ['z', 'v', 'missing'])
    rows = [line for line in lines if line.startswith('| ') and '---' not in line]
    assert [row.split(' | ')[0] for row in rows[1:]] == ['| z', '| v']  # model first
    assert '| z | 64 | 0 | 92.0 |' in rows[1]
    text = '\n'.join(lines)
    assert 'Clean test accuracy >= 90 %: 92.0 % (met)' in text
    assert 'Beats missing on robust accuracy: not measured yet' in text
    assert 'other' not in text


def test_robust_gap_table_splits_clean_errors_from_scale_errors() -> None:
    make_results = load_script('make_results')
    by_config = {'zelpha_64px': [fake_run(0.90, 0.80, 0), fake_run(0.92, 0.84, 1)]}
    by_config['zelpha_64px'][0]['benchmark']['accuracy']['1.30'] = 0.85
    rows = make_results.robust_gap_table(by_config, ['zelpha_64px', 'missing'])
    assert rows[2:] == ['| zelpha_64px | 2 | 91.0 | 82.0 | 9.0 | 9.0 | s=1.30 |']
