import pytest

from torchgeo_zelpha.datasets.splits import balanced_split


def test_sizes_balance_disjoint_and_reproducible() -> None:
    labels = [c for c in range(21) for _ in range(100)]
    split = balanced_split(labels, (0.6, 0.2, 0.2), seed=3)
    assert [len(split[s]) for s in ('train', 'val', 'test')] == [1260, 420, 420]
    for name, n in (('train', 60), ('val', 20), ('test', 20)):
        per_class = [sum(labels[i] == c for i in split[name]) for c in range(21)]
        assert per_class == [n] * 21
    all_idx = split['train'] + split['val'] + split['test']
    assert sorted(all_idx) == list(range(2100))
    assert split == balanced_split(labels, (0.6, 0.2, 0.2), seed=3)
    assert split != balanced_split(labels, (0.6, 0.2, 0.2), seed=4)


def test_other_ratios() -> None:
    labels = [c for c in range(3) for _ in range(10)]
    split = balanced_split(labels, (0.5, 0.2, 0.3), seed=0)
    assert [len(split[s]) for s in ('train', 'val', 'test')] == [15, 6, 9]


@pytest.mark.parametrize('ratios', [(0.5, 0.5), (0.6, 0.2, 0.3), (1.2, -0.1, -0.1)])
def test_bad_ratios(ratios: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match='split_ratios'):
        balanced_split([0, 1], ratios)
