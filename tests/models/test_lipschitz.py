import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from torchgeo_zelpha.lipschitz import (
    LayerNormEstimator,
    apply_spectral_norm,
    check_spectral_norm,
    conv_operator_norm,
    empirical_lipschitz,
    linear_map_norm,
    network_upper_bound,
    spectral_norm_status,
)
from torchgeo_zelpha.losses import lipschitz_penalty
from torchgeo_zelpha.models import ShallowCNN, ZelphaModel


def dense_conv_matrix(
    weight: torch.Tensor, shape: tuple[int, int, int]
) -> torch.Tensor:
    """The conv as an explicit matrix, column by column."""
    n = int(torch.tensor(shape).prod())
    basis = torch.eye(n, dtype=torch.float64).view(n, *shape)
    return F.conv2d(basis, weight.double(), padding=1).view(n, -1).T


def test_conv_operator_norm_is_exact_and_exceeds_reshape_norm() -> None:
    torch.manual_seed(1)
    weight = torch.randn(4, 3, 3, 3)
    exact = torch.linalg.matrix_norm(dense_conv_matrix(weight, (3, 8, 8)), 2)
    estimate = conv_operator_norm(weight.double(), (3, 8, 8), 300)
    assert float(estimate) <= float(exact) * (1 + 1e-9)  # power iteration: from below
    assert float(estimate) == pytest.approx(float(exact), rel=1e-3)
    # An all-ones kernel: reshaped norm 3*sqrt(3), true norm nearly 3x larger.
    ones = torch.ones(1, 3, 3, 3)
    reshaped = torch.linalg.matrix_norm(ones.view(1, -1), 2)
    true = conv_operator_norm(ones.double(), (3, 16, 16), 300)
    assert float(true / reshaped) > 2.5


def test_linear_map_norm_of_avg_pool() -> None:
    pool = nn.AvgPool2d(2)
    assert linear_map_norm(pool, (1, 2, 8, 8)) == pytest.approx(0.5, rel=1e-6)


@pytest.mark.parametrize('mode', ['operator', 'reshape'])
def test_apply_and_check_spectral_norm(mode: str) -> None:
    net = ShallowCNN(widths=(8, 16), feature_dim=8, norm='none')
    with pytest.raises(ValueError, match='without spectral'):
        check_spectral_norm(net)
    apply_spectral_norm(net, mode, 2, torch.rand(1, 3, 16, 16))  # type: ignore[arg-type]
    check_spectral_norm(net)
    status = spectral_norm_status(net)
    assert [s.method for s in status] == [mode, mode, 'exact']
    net.train()
    for _ in range(20):
        net(torch.rand(2, 3, 16, 16))
    est = LayerNormEstimator(net, torch.rand(1, 3, 16, 16), n_power_iterations=50)
    norms = est.norms()
    if mode == 'operator':
        assert norms.detach() == pytest.approx(torch.ones(3), abs=2e-2)
    else:
        assert (norms[:2] > 1.05).any()  # the known gap of the reshaped norm


def test_operator_mode_needs_example_input() -> None:
    with pytest.raises(ValueError, match='example_input'):
        apply_spectral_norm(ShallowCNN(widths=(4,)), 'operator')


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('pooling', ['mean', 'max'])
def test_empirical_never_exceeds_upper_bound(seed: int, pooling: str) -> None:
    torch.manual_seed(seed)
    model = ZelphaModel(
        4,
        widths=(8, 16),
        feature_dim=8,
        input_size=32,
        pooling=pooling,  # type: ignore[arg-type]
        spectral_norm=seed % 2 == 0,
        norm='batch' if seed < 2 else 'none',
    )
    model.train()
    for _ in range(3):  # non-trivial BatchNorm statistics
        model(torch.rand(8, 3, 32, 32) * 2)
    model.eval()
    x = torch.rand(6, 3, 32, 32)
    bound = network_upper_bound(model.backbone, x, 100)
    emp = empirical_lipschitz(model.features, x, noise_std=1e-2)
    assert 0 < emp['noise'] <= bound.total
    assert 0 < emp['rescale'] <= bound.total
    assert len(bound.scale_shift_norms) == 3
    # Layers are named by the type they are, parametrized (spectral norm) or not.
    kinds = [kind for _, kind, _ in bound.layers]
    assert kinds.count('Conv2d') == 2 and kinds.count('Linear') == 1


def test_penalty_is_differentiable_in_weights() -> None:
    net = ShallowCNN(widths=(4,), feature_dim=4, norm='none')
    est = LayerNormEstimator(net, torch.rand(1, 3, 8, 8))
    lipschitz_penalty(est.norms(), 0.1).backward()
    assert net.layers[0].weight.grad.abs().sum() > 0
