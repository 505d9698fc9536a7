"""Seeded, per-class balanced train/val/test splits."""

from collections.abc import Sequence

import numpy as np

__all__ = ('SPLITS', 'balanced_split', 'check_split_ratios')

#: Split names, in the order of the ratios.
SPLITS = ('train', 'val', 'test')


def check_split_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    """Validate ``(train, val, test)`` ratios: three non-negative numbers summing to 1.

    Raises:
        ValueError: if the ratios are malformed.
    """
    if len(ratios) != 3:
        raise ValueError(f'split_ratios must be (train, val, test), got {ratios}')
    r = tuple(float(x) for x in ratios)
    if any(not np.isfinite(x) or x < 0 for x in r):
        raise ValueError(f'split_ratios must be finite and >= 0, got {ratios}')
    if abs(sum(r) - 1) > 1e-6:
        raise ValueError(f'split_ratios must sum to 1, got {ratios} (sum {sum(r)})')
    return r  # type: ignore[return-value]


def balanced_split(
    labels: Sequence[int],
    ratios: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
) -> dict[str, list[int]]:
    """Split item indices into train/val/test with the same ratios in every class.

    Within each class the items are shuffled with a generator seeded by ``seed``;
    the first ``round(r_train * n)`` go to train, the next ``round(r_val * n)`` to
    val, the rest to test. Classes are visited in sorted order, so the split depends
    only on ``labels``, ``ratios`` and ``seed``.

    Args:
        labels: the class of each item, in a fixed item order.
        ratios: ``(train, val, test)`` fractions summing to 1.
        seed: random seed.

    Returns:
        ``{'train': [...], 'val': [...], 'test': [...]}``, sorted item indices; every
        index is in exactly one split.
    """
    r_train, r_val, _ = check_split_ratios(ratios)
    labels_arr = np.asarray(labels)
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {name: [] for name in SPLITS}
    for label in np.unique(labels_arr):
        members = np.flatnonzero(labels_arr == label)
        members = members[rng.permutation(len(members))]
        n_train = round(r_train * len(members))
        n_val = min(round(r_val * len(members)), len(members) - n_train)
        out['train'] += members[:n_train].tolist()
        out['val'] += members[n_train : n_train + n_val].tolist()
        out['test'] += members[n_train + n_val :].tolist()
    return {name: sorted(idx) for name, idx in out.items()}
