"""ZELPHA's training schedule: warm-up, beta ramp, and the gamma fallback."""

import math
from collections import deque
from dataclasses import dataclass

__all__ = ('LossSchedule', 'LossWatch')


@dataclass(frozen=True)
class LossSchedule:
    """Weights of the loss terms over training (epochs may be fractional).

    * ``epoch < warmup_epochs``: cross-entropy only (``beta = gamma = 0``).
    * then ``beta`` ramps linearly from 0 to ``beta`` over ``beta_ramp_epochs``;
      ``gamma`` is switched on at its value.
    """

    beta: float = 0.3
    gamma: float = 0.003
    warmup_epochs: float = 5.0
    beta_ramp_epochs: float = 5.0

    def __post_init__(self) -> None:
        """Validate the schedule."""
        if min(self.beta, self.gamma, self.warmup_epochs, self.beta_ramp_epochs) < 0:
            raise ValueError(f'schedule values must be >= 0, got {self}')

    def in_warmup(self, epoch: float) -> bool:
        """Whether ``epoch`` is in the cross-entropy-only warm-up."""
        return epoch < self.warmup_epochs

    def beta_at(self, epoch: float) -> float:
        """The prototype-loss weight at ``epoch``."""
        if self.in_warmup(epoch):
            return 0.0
        if self.beta_ramp_epochs == 0:
            return self.beta
        return self.beta * min(
            1.0, (epoch - self.warmup_epochs) / self.beta_ramp_epochs
        )

    def gamma_at(self, epoch: float) -> float:
        """The Lipschitz-penalty weight at ``epoch``."""
        return 0.0 if self.in_warmup(epoch) else self.gamma


class LossWatch:
    """Checkpoint E: tell a stalled or diverging run from a healthy one.

    Compares the mean loss of the latest ``window`` steps with the window before;
    the run is flagged when a loss is not finite, or when the latest mean exceeds
    the previous one by more than ``tolerance`` (relative).
    """

    def __init__(self, window: int = 50, tolerance: float = 0.25) -> None:
        """Initialize a new LossWatch.

        Args:
            window: steps per window (>= 1).
            tolerance: allowed relative increase of the windowed mean loss.
        """
        if window < 1 or tolerance < 0:
            raise ValueError(
                f'need window >= 1 and tolerance >= 0, got {window}, {tolerance}'
            )
        self.window = window
        self.tolerance = tolerance
        self.losses: deque[float] = deque(maxlen=2 * window)

    def reset(self) -> None:
        """Forget the history (for example when the loss changes definition)."""
        self.losses.clear()

    def update(self, loss: float) -> str | None:
        """Record a loss; return why the run looks bad, or None if it looks fine."""
        if not math.isfinite(loss):
            return f'non-finite loss ({loss})'
        self.losses.append(loss)
        if len(self.losses) < 2 * self.window:
            return None
        values = list(self.losses)
        previous = sum(values[: self.window]) / self.window
        latest = sum(values[self.window :]) / self.window
        if latest > previous * (1 + self.tolerance):
            return (
                f'mean loss rose from {previous:.4g} to {latest:.4g} over the last '
                f'{self.window} steps'
            )
        return None
