import pytest

from torchgeo_zelpha.tasks import LossSchedule, LossWatch


def test_beta_ramp_and_gamma() -> None:
    s = LossSchedule(beta=0.4, gamma=0.01, warmup_epochs=5, beta_ramp_epochs=4)
    assert s.beta_at(0) == 0 and s.gamma_at(4.99) == 0 and s.in_warmup(4.99)
    assert s.beta_at(5) == 0.0
    assert s.beta_at(6) == pytest.approx(0.1)
    assert s.beta_at(7) == pytest.approx(0.2)
    assert s.beta_at(9) == pytest.approx(0.4) and s.beta_at(50) == pytest.approx(0.4)
    assert s.gamma_at(5) == 0.01
    assert LossSchedule(0.3, 0, 0, 0).beta_at(0) == 0.3
    with pytest.raises(ValueError):
        LossSchedule(beta=-1)


def test_loss_watch() -> None:
    watch = LossWatch(window=3, tolerance=0.25)
    assert all(watch.update(v) is None for v in [3, 3, 3, 2.9, 2.8, 2.7])  # healthy
    watch.reset()
    for v in [1, 1, 1, 1.2, 1.3]:
        assert watch.update(v) is None
    assert 'rose' in watch.update(1.5)  # mean 1 -> 1.33: > 25 % up
    assert 'non-finite' in LossWatch().update(float('nan'))
    with pytest.raises(ValueError):
        LossWatch(window=0)
