"""Lipschitz measurements: per-layer norms, a network upper bound, empirical ratios.

Checkpoint C of the theory: the margin of a prediction changes by at most
``2 * L * ||dx||``, where ``L`` is the Lipschitz constant of the feature map
``x -> z``. These functions bound ``L`` from above (product of layer constants)
and estimate it from below (finite differences), so the two can be compared.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn as nn
from torch import Tensor
from torch.nn.utils import parametrize

from ..models.scale_pooling import ScalePooledBackbone
from ..transforms import scale_shift
from .operator_norm import conv_operator_norm, conv_power_iteration, linear_map_norm
from .spectral_norm import record_input_shapes

__all__ = (
    'LayerNormEstimator',
    'LipschitzBound',
    'empirical_lipschitz',
    'layer_lipschitz_constants',
    'network_upper_bound',
)


def _linear_sigma(weight: Tensor) -> Tensor:
    """Exact spectral norm of a matrix (differentiable)."""
    return torch.linalg.matrix_norm(weight, ord=2)


class LayerNormEstimator:
    """Operator norms of a model's conv and linear layers, cheap enough for training.

    Conv layers: the true operator norm at the layer's input size, by power
    iteration whose vectors persist between calls (so one iteration per call
    suffices once converged); linear layers: the exact spectral norm. ``norms()``
    is differentiable in the (effective, possibly normalised) weights and feeds
    :func:`~torchgeo_zelpha.losses.lipschitz_penalty`.
    """

    def __init__(
        self, model: nn.Module, example_input: Tensor, n_power_iterations: int = 1
    ) -> None:
        """Initialize a new LayerNormEstimator.

        Args:
            model: the model whose layers are measured.
            example_input: an input batch (its first image is used).
            n_power_iterations: iterations per call.
        """
        shapes = record_input_shapes(model, example_input[:1])
        self.names: list[str] = []
        self.layers: list[nn.Module] = []
        self._u: dict[int, Tensor] = {}
        for name, module in model.named_modules():
            if isinstance(module, nn.Conv2d | nn.Linear) and module in shapes:
                self.names.append(name)
                self.layers.append(module)
                if isinstance(module, nn.Conv2d):
                    u = torch.randn(1, *shapes[module][1:], device=example_input.device)
                    self._u[len(self.layers) - 1] = conv_power_iteration(
                        module.weight.detach(), u / u.norm(), 30, *_conv_args(module)
                    )
        self.n_power_iterations = n_power_iterations

    def norms(self) -> Tensor:
        """``[L]`` operator norms, differentiable in the weights."""
        values = []
        for i, layer in enumerate(self.layers):
            weight = layer.weight
            if isinstance(layer, nn.Conv2d):
                u = conv_power_iteration(
                    weight.detach(),
                    self._u[i].to(weight.device),
                    self.n_power_iterations,
                    *_conv_args(layer),
                )
                self._u[i] = u
                values.append(
                    torch.nn.functional.conv2d(
                        u, weight, None, *_conv_args(layer)
                    ).norm()
                )
            else:
                values.append(_linear_sigma(weight))
        return torch.stack(values)


def _conv_args(conv: nn.Conv2d) -> tuple:
    return conv.stride, conv.padding, conv.dilation, conv.groups


@dataclass
class LipschitzBound:
    """An upper bound on the Lipschitz constant of the feature map ``x -> z``."""

    #: the whole-network bound.
    total: float
    #: ``(layer name, kind, constant)`` in forward order, the backbone's chain.
    layers: list[tuple[str, str, float]] = field(default_factory=list)
    #: norm of each internal scale shift ``T_s`` (empty without scale pooling).
    scale_shift_norms: dict[float, float] = field(default_factory=dict)
    #: how the scale factors combine: ``'mean'``, ``'max'`` or ``'none'``.
    pooling: str = 'none'


def layer_lipschitz_constants(
    chain: nn.Sequential, example_input: Tensor, n_iterations: int = 200
) -> list[tuple[str, str, float]]:
    """The Lipschitz constant of every layer of a sequential chain, in eval mode.

    * ``Conv2d``: the true operator norm at its input size (power iteration).
    * ``Linear``: the exact spectral norm.
    * ``BatchNorm2d`` (eval): ``max_c |gamma_c| / sqrt(var_c + eps)``.
    * ``ReLU``, ``Flatten``, ``Identity``, ``Dropout``: 1.
    * ``MaxPool2d``: ``ceil(k / s)`` (1 for non-overlapping windows).
    * ``AvgPool2d``, ``AdaptiveAvgPool2d``: operator norm of the linear map.

    Raises:
        TypeError: for a layer whose constant is not known.
    """
    shapes = record_input_shapes(chain, example_input[:1])
    out = []
    for name, layer in chain.named_children():
        shape = shapes.get(layer)
        if shape is None:
            raise ValueError(f'layer {name} was not reached by example_input')
        # A parametrized layer's class is a generated subclass ('ParametrizedConv2d');
        # report the layer type it wraps.
        cls = type(layer)
        if parametrize.is_parametrized(layer):
            cls = cls.__bases__[0]
        kind = cls.__name__
        with torch.no_grad():
            if isinstance(layer, nn.Conv2d):
                value = float(
                    conv_operator_norm(
                        layer.weight.detach().double(),
                        shape,
                        n_iterations,
                        *_conv_args(layer),
                    )
                )
            elif isinstance(layer, nn.Linear):
                value = float(_linear_sigma(layer.weight.detach().double()))
            elif isinstance(layer, nn.BatchNorm2d):
                gamma = (
                    layer.weight if layer.affine else torch.ones_like(layer.running_var)
                )
                value = float(
                    (gamma.abs() / (layer.running_var + layer.eps).sqrt()).max()
                )
            elif isinstance(layer, nn.ReLU | nn.Flatten | nn.Identity | nn.Dropout):
                value = 1.0
            elif isinstance(layer, nn.MaxPool2d):
                k, s = layer.kernel_size, layer.stride
                k, s = (
                    (k if isinstance(k, int) else max(k)),
                    (s if isinstance(s, int) else min(s)),
                )
                value = float(math.ceil(k / s))
            elif isinstance(layer, nn.AvgPool2d | nn.AdaptiveAvgPool2d):
                value = linear_map_norm(layer, (1, *shape[1:]), n_iterations)
            else:
                raise TypeError(
                    f'no Lipschitz constant known for layer {name} ({kind})'
                )
        out.append((name, kind, value))
    return out


def network_upper_bound(
    features: nn.Module, example_input: Tensor, n_iterations: int = 200
) -> LipschitzBound:
    """Upper bound on the Lipschitz constant of ``x -> z`` (L2 norms), in eval mode.

    For a :class:`~torchgeo_zelpha.models.ScalePooledBackbone` with backbone
    constant ``L_b`` and internal scale shifts of norms ``||T_s||``:
    mean pooling gives ``L_b * mean_s ||T_s||``; max pooling gives
    ``L_b * sqrt(sum_s ||T_s||^2)`` (``|max_s a_s - max_s b_s| <= max_s |a_s - b_s|``).
    A bare chain (for example :class:`~torchgeo_zelpha.models.ShallowCNN`) gives the
    product of its layers' constants.

    Args:
        features: a ScalePooledBackbone, or a module with a ``layers`` chain.
        example_input: an input batch fixing the spatial size.
        n_iterations: power iterations per layer.
    """
    pooled = features if isinstance(features, ScalePooledBackbone) else None
    backbone = pooled.backbone if pooled is not None else features
    chain = backbone.layers if hasattr(backbone, 'layers') else backbone
    if not isinstance(chain, nn.Sequential):
        raise TypeError(
            'the backbone must be (or hold as .layers) an nn.Sequential chain'
        )
    layers = layer_lipschitz_constants(chain, example_input, n_iterations)
    backbone_bound = math.prod(value for _, _, value in layers)
    if pooled is None or pooled.scales == (1.0,):
        return LipschitzBound(backbone_bound, layers)
    shape = (1, *example_input.shape[1:])
    norms = {
        s: 1.0
        if s == 1.0
        else linear_map_norm(
            lambda x, s=s: scale_shift(x, s, pooled.padding_mode), shape, n_iterations
        )
        for s in pooled.scales
    }
    if pooled.pooling == 'mean':
        factor = sum(norms.values()) / len(norms)
    else:
        factor = math.sqrt(sum(v**2 for v in norms.values()))
    return LipschitzBound(backbone_bound * factor, layers, norms, pooled.pooling)


def empirical_lipschitz(
    fn: Callable[[Tensor], Tensor],
    images: Tensor,
    noise_std: float = 1e-2,
    scales: Sequence[float] = (0.98, 1.02),
    n_draws: int = 4,
    padding_mode: str = 'reflection',
) -> dict[str, float]:
    """Finite-difference estimates ``max ||f(x + d) - f(x)|| / ||d||`` (lower bounds).

    Two kinds of perturbation ``d``, per image: (a) Gaussian noise of standard
    deviation ``noise_std`` (``n_draws`` draws); (b) the rescaling
    ``d = T_s x - x`` for each ``s`` in ``scales``. Both ratios are at most the
    Lipschitz constant, so they must never exceed :func:`network_upper_bound`.

    Returns:
        ``{'noise': ..., 'rescale': ...}``, maxima over images and draws.
    """
    with torch.no_grad():
        base = fn(images)
        per_image = []
        for _ in range(n_draws):
            d = torch.randn_like(images) * noise_std
            per_image.append(_ratio(fn(images + d) - base, d))
        noise = float(torch.stack(per_image).max())
        rescale = []
        for s in scales:
            d = scale_shift(images, s, padding_mode) - images
            rescale.append(_ratio(fn(images + d) - base, d))
        return {'noise': noise, 'rescale': float(torch.stack(rescale).max())}


def _ratio(delta_out: Tensor, delta_in: Tensor) -> Tensor:
    """Per-sample ``||delta_out|| / ||delta_in||``."""
    num = delta_out.flatten(1).norm(dim=1)
    den = delta_in.flatten(1).norm(dim=1).clamp(min=1e-12)
    return num / den
