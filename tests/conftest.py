import os
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).parent / 'data'


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def ucmerced_root() -> str:
    return os.fspath(DATA / 'ucmerced')


@pytest.fixture
def eurosat_root() -> str:
    return os.fspath(DATA / 'eurosat')
