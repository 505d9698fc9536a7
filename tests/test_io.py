import os
import stat
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from torchgeo_zelpha.io import (
    atomic_directory,
    atomic_save_figure,
    atomic_write_json,
    atomic_write_text,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outputs_are_complete_with_usual_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        text = atomic_write_text(tmp_path / 'a' / 'x.md', 'hello\n')
        data = atomic_write_json(tmp_path / 'x.json', {'b': 1, 'a': [2]})
        fig, ax = plt.subplots()
        ax.plot([0, 1])
        png = atomic_save_figure(fig, tmp_path / 'x.png')
        plt.close(fig)
        with atomic_directory(tmp_path / 'folder') as tmp:
            (tmp / 'f').write_text('f')
    finally:
        os.umask(mask)
    assert text.read_text() == 'hello\n'
    assert data.read_text() == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'
    assert png.read_bytes()[:4] == b'\x89PNG'
    assert {mode(p) for p in (text, data, png)} == {0o644}
    assert mode(tmp_path / 'folder') == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'a',
        'folder',
        'x.json',
        'x.png',
    ]


def test_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / 'x.json'
    atomic_write_json(target, {'old': True})
    with pytest.raises(TypeError):
        atomic_write_json(target, {'bad': object()})  # not JSON: fails before writing
    fig = plt.figure()

    def broken_savefig(*args: object, **kwargs: object) -> None:
        Path(str(args[0])).write_bytes(b'half a PNG')
        raise OSError('disk full')

    monkeypatch.setattr(fig, 'savefig', broken_savefig)
    with pytest.raises(OSError, match='disk full'):
        atomic_save_figure(fig, tmp_path / 'x.png')
    plt.close(fig)
    with pytest.raises(ValueError, match='boom'):
        with atomic_directory(tmp_path / 'd') as tmp:
            (tmp / 'half').write_text('half')
            raise ValueError('boom')
    assert target.read_text() == '{\n  "old": true\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['x.json']
