"""Atomic file output: a result is either fully written or not there at all."""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

__all__ = (
    'atomic_directory',
    'atomic_save_figure',
    'atomic_write_json',
    'atomic_write_text',
)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _temporary_file(path: Path, suffix: str) -> Iterator[tuple[int, str]]:
    """A temporary sibling of ``path``, renamed onto it when the body succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix=suffix)
    try:
        # mkstemp makes 0600 files; outputs get the usual permissions.
        os.chmod(tmp, 0o666 & ~_umask())
        yield fd, tmp
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file renamed into place."""
    path = Path(path)
    with _temporary_file(path, '.tmp') as (fd, _), os.fdopen(fd, 'w') as f:
        f.write(text)
    return path


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path``, atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + '\n')


def atomic_save_figure(
    fig: Figure, path: str | os.PathLike[str], dpi: int = 100
) -> Path:
    """Save a matplotlib figure as PNG to ``path``, atomically."""
    path = Path(path)
    with _temporary_file(path, '.png') as (fd, tmp):
        os.close(fd)
        fig.savefig(tmp, dpi=dpi, bbox_inches='tight', format='png')
    return path


@contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a directory in a temporary sibling, then rename it to ``path``.

    An existing ``path`` is replaced only after the new one is complete; if the
    body raises, ``path`` is left as it was and the temporary folder is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(
        tempfile.mkdtemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    )
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f'.{path.name}.old')
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
