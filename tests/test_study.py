import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


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
        ],
        check=True,
        cwd=ROOT,
    )
    assert '| vanilla_cnn | 0 |' in out.read_text()
    text = readme.read_text()  # the headline table is regenerated in place
    assert text.startswith('intro\n') and text.endswith('end\n')
    assert '| vanilla_cnn | 0 |' in text and 'old' not in text


def test_training_summary_reads_torchgeo_metric_names(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        'run_study', ROOT / 'experiments' / 'run_study.py'
    )
    assert spec is not None and spec.loader is not None
    run_study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_study)
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
