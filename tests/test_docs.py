import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_benchmark_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = ROOT / 'docs' / 'examples' / 'benchmark_own_model.py'
    root = ROOT / 'tests' / 'data' / 'ucmerced'
    monkeypatch.setattr(sys, 'argv', [str(script), str(root), str(tmp_path)])
    runpy.run_path(str(script), run_name='__main__')
    assert 'robust accuracy' in capsys.readouterr().out
    assert (tmp_path / 'results.json').exists()
    assert (tmp_path / 'accuracy_vs_scale.png').exists()
