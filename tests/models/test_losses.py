import pytest
import torch

from torchgeo_zelpha.losses import (
    inter_class_loss,
    intra_class_loss,
    lipschitz_penalty,
    prototype_loss,
)


def test_intra_by_hand() -> None:
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    mu = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    # ||(1,0)-(0,0)||^2 = 1 ; ||(0,2)-(0,1)||^2 = 1  -> mean 1
    assert intra_class_loss(z, torch.tensor([0, 1]), mu).item() == pytest.approx(1.0)
    # both to class 1: ||(1,-1)||^2 = 2, ||(0,1)||^2 = 1 -> 1.5
    assert intra_class_loss(z, torch.tensor([1, 1]), mu).item() == pytest.approx(1.5)


def test_inter_by_hand() -> None:
    mu = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0]])
    # distances: d01 = 3, d02 = 1, d12 = sqrt(10); margin 2:
    # hinge^2: (2-3)->0, (2-1)^2 = 1, (2-3.16)->0; ordered pairs count twice -> 2
    assert inter_class_loss(mu, 2.0).item() == pytest.approx(2.0, rel=1e-5)
    assert inter_class_loss(mu, 0.5).item() == 0.0
    loss = inter_class_loss(torch.zeros(2, 3, requires_grad=True), 1.0)
    assert loss.item() == pytest.approx(2.0, rel=1e-5)
    with pytest.raises(ValueError, match='margin'):
        inter_class_loss(mu, -1.0)


def test_proto_combination() -> None:
    z, y = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    mu = torch.randn(2, 3)
    expected = 0.3 * intra_class_loss(z, y, mu) + 2.0 * inter_class_loss(mu, 1.5)
    got = prototype_loss(z, y, mu, 1.5, lambda_intra=0.3, lambda_inter=2.0)
    assert got.item() == pytest.approx(expected.item())


def test_lipschitz_penalty_by_hand_and_gradient() -> None:
    norms = torch.tensor([0.5, 1.5, 3.0], requires_grad=True)
    loss = lipschitz_penalty(norms, 1.0)
    assert loss.item() == pytest.approx(0.25 + 4.0)
    loss.backward()
    assert norms.grad.tolist() == pytest.approx([0.0, 1.0, 4.0])
    with pytest.raises(ValueError, match='K'):
        lipschitz_penalty(norms, 0.0)
