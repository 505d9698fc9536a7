"""Lipschitz control: spectral normalisation of every conv and linear layer."""

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from .operator_norm import conv_power_iteration

__all__ = (
    'ConvOperatorNorm',
    'LayerStatus',
    'SpectralNormMode',
    'apply_spectral_norm',
    'check_spectral_norm',
    'record_input_shapes',
    'spectral_norm_status',
)

#: ``'reshape'``: PyTorch's spectral norm of the reshaped conv weight (cheap, but
#: the conv's true operator norm can still be up to k times larger);
#: ``'operator'``: the conv's true operator norm, by power iteration with
#: ``conv2d``/``conv_transpose2d`` at the layer's input size, stride and padding.
SpectralNormMode = Literal['reshape', 'operator']


class ConvOperatorNorm(nn.Module):
    """Parametrization dividing a conv weight by the conv's true operator norm.

    One power iteration per training forward (like PyTorch's ``spectral_norm``);
    the vector ``u`` is a buffer, saved in checkpoints.
    """

    def __init__(
        self,
        conv: nn.Conv2d,
        input_shape: tuple[int, int, int],
        n_power_iterations: int = 2,
    ) -> None:
        """Initialize a new ConvOperatorNorm.

        Args:
            conv: the layer (its stride, padding, dilation and groups are used).
            input_shape: the layer's input ``[C_in, H, W]``.
            n_power_iterations: iterations per training forward (>= 1).
        """
        super().__init__()
        if n_power_iterations < 1:
            raise ValueError(
                f'n_power_iterations must be >= 1, got {n_power_iterations}'
            )
        if conv.padding_mode != 'zeros' or isinstance(conv.padding, str):
            raise ValueError('ConvOperatorNorm supports numeric zero padding only')
        self.stride = conv.stride
        self.padding = conv.padding
        self.dilation = conv.dilation
        self.groups = conv.groups
        self.n_power_iterations = n_power_iterations
        u = torch.randn(1, *input_shape, dtype=conv.weight.dtype)
        u = conv_power_iteration(
            conv.weight.detach().cpu(), u / u.norm(), 30, *self._args()
        )
        self.register_buffer('u', u.to(conv.weight.device))

    def _args(self) -> tuple:
        return self.stride, self.padding, self.dilation, self.groups

    def operator_norm(self, weight: Tensor) -> Tensor:
        """``||A u||`` for the current ``u``: the operator norm estimate."""
        return F.conv2d(self.u, weight, None, *self._args()).norm()

    def forward(self, weight: Tensor) -> Tensor:
        """Return ``weight / sigma(weight)``."""
        if self.training:
            self.u = conv_power_iteration(
                weight.detach(), self.u, self.n_power_iterations, *self._args()
            )
        return weight / self.operator_norm(weight).clamp(min=1e-12)


def record_input_shapes(
    model: nn.Module, example_input: Tensor
) -> dict[nn.Module, tuple[int, ...]]:
    """Run ``model`` once (eval, no grad) and record every module's input shape."""
    shapes: dict[nn.Module, tuple[int, ...]] = {}

    def hook(module: nn.Module, args: tuple[Tensor, ...]) -> None:
        if args and isinstance(args[0], Tensor):  # parametrizations get no args
            shapes.setdefault(module, tuple(args[0].shape))

    # Every module, not only leaves: a parametrized conv has children.
    handles = [m.register_forward_pre_hook(hook) for m in model.modules()]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(example_input)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return shapes


def apply_spectral_norm(
    model: nn.Module,
    mode: SpectralNormMode = 'operator',
    n_power_iterations: int = 2,
    example_input: Tensor | None = None,
) -> nn.Module:
    """Spectrally normalise every ``Conv2d`` and ``Linear`` layer of ``model``.

    Theory, condition 2 (small Lipschitz constant): every layer gets operator norm
    ~1, so the network's Lipschitz constant is bounded by the product of the
    remaining factors (normalisation gains, pooling, resizes).

    Linear layers always use :func:`torch.nn.utils.parametrizations.spectral_norm`
    (exact for them). Conv layers use it too in ``'reshape'`` mode; ``'operator'``
    mode uses :class:`ConvOperatorNorm` and needs ``example_input`` to learn each
    conv's input size.

    Args:
        model: the model, modified in place.
        mode: ``'operator'`` or ``'reshape'``.
        n_power_iterations: power iterations per training forward.
        example_input: a ``[1, C, H, W]`` input (``'operator'`` mode).

    Returns:
        ``model``.
    """
    if mode not in ('reshape', 'operator'):
        raise ValueError(f"mode must be 'reshape' or 'operator', got {mode!r}")
    shapes: dict[nn.Module, tuple[int, ...]] = {}
    if mode == 'operator':
        if example_input is None:
            raise ValueError("mode='operator' needs example_input")
        shapes = record_input_shapes(model, example_input[:1])
    for module in list(model.modules()):
        if isinstance(module, nn.Conv2d) and mode == 'operator':
            if module not in shapes:
                raise ValueError(f'{module} was not reached by example_input')
            norm = ConvOperatorNorm(module, shapes[module][1:], n_power_iterations)  # type: ignore[arg-type]
            parametrize.register_parametrization(module, 'weight', norm)
        elif isinstance(module, nn.Conv2d | nn.Linear):
            spectral_norm(module, n_power_iterations=n_power_iterations)
    return model


@dataclass(frozen=True)
class LayerStatus:
    """Whether one conv or linear layer is spectrally normalised, and how."""

    name: str
    kind: str
    normalized: bool
    method: str


def spectral_norm_status(model: nn.Module) -> list[LayerStatus]:
    """List every ``Conv2d``/``Linear`` layer and whether it is normalised."""
    status = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Conv2d | nn.Linear):
            continue
        method = 'none'
        if parametrize.is_parametrized(module, 'weight'):
            kinds = {type(p).__name__ for p in module.parametrizations['weight']}
            if 'ConvOperatorNorm' in kinds:
                method = 'operator'
            elif '_SpectralNorm' in kinds:
                method = 'reshape' if isinstance(module, nn.Conv2d) else 'exact'
        status.append(
            LayerStatus(name, type(module).__name__, method != 'none', method)
        )
    return status


def check_spectral_norm(model: nn.Module) -> None:
    """Raise if any ``Conv2d`` or ``Linear`` layer of ``model`` is not normalised.

    Raises:
        ValueError: naming the layers without spectral normalisation.
    """
    missing = [s.name for s in spectral_norm_status(model) if not s.normalized]
    if missing:
        raise ValueError(f'layers without spectral normalisation: {missing}')
