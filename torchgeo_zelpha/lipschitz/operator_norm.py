"""Operator norms of linear maps by power iteration (convolutions, resizes, pools)."""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ('conv_operator_norm', 'conv_power_iteration', 'linear_map_norm')


def _conv_transpose_output_padding(
    weight: Tensor,
    input_size: tuple[int, int],
    output_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int]:
    """Output padding that makes ``conv_transpose2d`` return the conv's input size."""
    pads = []
    for i in range(2):
        k = weight.shape[2 + i]
        base = (
            (output_size[i] - 1) * stride[i]
            - 2 * padding[i]
            + dilation[i] * (k - 1)
            + 1
        )
        pads.append(input_size[i] - base)
    return pads[0], pads[1]


def conv_power_iteration(
    weight: Tensor,
    u: Tensor,
    n_iterations: int,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Tensor:
    """Power iteration on ``A^T A`` for the convolution ``A`` (bias excluded).

    ``A`` is ``conv2d`` at the layer's stride, padding and dilation, applied to
    ``[1, C_in, H, W]`` inputs; ``A^T`` is ``conv_transpose2d`` with the same
    arguments. Returns the new unit-norm ``u`` (no gradient).
    """
    with torch.no_grad():
        size = tuple(u.shape[-2:])
        for _ in range(n_iterations):
            v = F.conv2d(u, weight, None, stride, padding, dilation, groups)
            out_pad = _conv_transpose_output_padding(
                weight,
                size,
                tuple(v.shape[-2:]),
                stride,
                padding,
                dilation,  # type: ignore[arg-type]
            )
            u = F.conv_transpose2d(
                v, weight, None, stride, padding, out_pad, groups, dilation
            )
            u = u / u.norm().clamp(min=1e-12)
    return u


def conv_operator_norm(
    weight: Tensor,
    input_shape: tuple[int, ...],
    n_iterations: int = 200,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (1, 1),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
    seed: int = 0,
) -> Tensor:
    """The true L2 operator norm of a convolution on inputs of ``input_shape``.

    Unlike the spectral norm of the reshaped ``[C_out, C_in k k]`` weight, this is
    the norm of the linear map the layer computes, which can be up to ``k`` times
    larger for ``k x k`` kernels. Differentiable in ``weight`` at the final vector.

    Args:
        weight: ``[C_out, C_in/groups, k, k]``.
        input_shape: ``[C_in, H, W]`` or ``[1, C_in, H, W]``.
        n_iterations: power iterations.
        stride: the layer's stride.
        padding: the layer's (zero) padding.
        dilation: the layer's dilation.
        groups: the layer's groups.
        seed: seed of the start vector.
    """
    shape = tuple(input_shape[-3:])
    generator = torch.Generator().manual_seed(seed)
    u = torch.randn((1, *shape), generator=generator).to(weight.device, weight.dtype)
    u = conv_power_iteration(
        weight.detach(), u / u.norm(), n_iterations, stride, padding, dilation, groups
    )
    return F.conv2d(u, weight, None, stride, padding, dilation, groups).norm()


def linear_map_norm(
    fn: Callable[[Tensor], Tensor],
    input_shape: tuple[int, ...],
    n_iterations: int = 100,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> float:
    """L2 operator norm of a linear map ``fn`` by power iteration with autograd.

    ``A^T A u`` is the gradient of ``<A u, A u> / 2``, so any differentiable linear
    map (a resize, a pooling, a scale shift) can be measured without writing its
    transpose. Run in float64 by default to keep the estimate tight.

    Args:
        fn: a linear map (``fn(a x + b y) = a fn(x) + b fn(y)``).
        input_shape: the shape of its input, batch dimension included.
        n_iterations: power iterations.
        seed: seed of the start vector.
        dtype: computation dtype.
    """
    generator = torch.Generator().manual_seed(seed)
    u = torch.randn(input_shape, generator=generator, dtype=dtype)
    u = u / u.norm()
    # Callers may measure under no_grad or inference mode.
    with torch.inference_mode(False), torch.enable_grad():
        for _ in range(n_iterations):
            u.requires_grad_(True)
            out = fn(u)
            (grad,) = torch.autograd.grad(out.pow(2).sum() / 2, u)
            u = (grad / grad.norm().clamp(min=1e-300)).detach()
    with torch.no_grad():
        return float(fn(u).norm())
