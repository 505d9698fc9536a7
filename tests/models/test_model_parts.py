import pytest
import torch
import torch.nn as nn

from torchgeo_zelpha.models import (
    VARIANTS,
    PrototypeHead,
    ScalePooledBackbone,
    ShallowCNN,
    ZelphaModel,
    logit_margin,
    prototype_margin,
)
from torchgeo_zelpha.transforms import scale_shift


def test_shallow_cnn_shapes_and_errors() -> None:
    net = ShallowCNN(in_channels=4, feature_dim=16, widths=(8, 16), norm='none')
    assert net(torch.rand(2, 4, 32, 32)).shape == (2, 16)
    with pytest.raises(ValueError, match=r'\[B, 4, H, W\]'):
        net(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match='norm'):
        ShallowCNN(norm='layer')  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='positive'):
        ShallowCNN(widths=())


class CountingBackbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(x.shape[0])
        return x.mean(dim=(2, 3))


def test_scale_pooling_one_batched_call_and_values() -> None:
    backbone = CountingBackbone()
    pooled = ScalePooledBackbone(backbone, scales=(0.8, 1.0, 1.2), pooling='mean')
    x = torch.rand(5, 3, 16, 16)
    per_scale = pooled.scale_features(x)
    assert backbone.calls == [15]  # S * B in one call
    assert per_scale.shape == (5, 3, 3)
    for k, s in enumerate((0.8, 1.0, 1.2)):
        expected = scale_shift(x, s).mean(dim=(2, 3))
        assert torch.allclose(per_scale[:, k], expected, atol=1e-5)
    assert torch.allclose(pooled(x), per_scale.mean(dim=1))
    maxed = ScalePooledBackbone(backbone, (0.8, 1.0, 1.2), pooling='max')
    assert torch.allclose(maxed(x), per_scale.amax(dim=1))
    with pytest.raises(ValueError, match='pooling'):
        ScalePooledBackbone(backbone, pooling='median')  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='scales'):
        ScalePooledBackbone(backbone, scales=(0.0, 1.0))
    with pytest.raises(ValueError, match='scales'):
        ScalePooledBackbone(backbone, scales=())


def test_sampled_training_scales() -> None:
    backbone = CountingBackbone()
    scales = (0.8, 1.0, 1.2)
    pooled = ScalePooledBackbone(backbone, scales, train_scales='sample')
    x = torch.rand(4, 3, 16, 16)
    per_scale = [scale_shift(x, s).mean(dim=(2, 3)) for s in scales]
    pooled.train()
    seen = set()
    torch.manual_seed(0)
    for _ in range(30):  # one backbone pass of B images at one drawn scale
        z = pooled(x)
        matches = [k for k, f in enumerate(per_scale) if torch.allclose(z, f)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == {0, 1, 2}
    assert set(backbone.calls) == {4}
    pooled.eval()  # evaluation pools every scale
    assert torch.allclose(pooled(x), torch.stack(per_scale, 1).mean(1), atol=1e-6)
    with pytest.raises(ValueError, match="needs pooling='mean'"):
        ScalePooledBackbone(backbone, pooling='max', train_scales='sample')
    with pytest.raises(ValueError, match='train_scales'):
        ScalePooledBackbone(backbone, train_scales='some')  # type: ignore[arg-type]


def test_prototype_logits_match_cdist_and_reset() -> None:
    head = PrototypeHead(4, 8, logit_scale=1.0, learn_scale=False)
    z = torch.randn(6, 8) * 100
    expected = -(torch.cdist(z.double(), head.prototypes.detach().double()) ** 2)
    assert torch.allclose(head(z).detach().double(), expected, rtol=1e-5)
    # Near a prototype the expanded formula cancels; ours stays >= 0 and exact.
    near = head.prototypes[:1].detach() + 1e-4
    with torch.no_grad():
        d2 = head.squared_distances(near)
    assert (d2 >= 0).all()
    assert float(d2[0, 0]) == pytest.approx(8e-8, rel=1e-2)
    means = torch.randn(4, 8)
    head.reset_prototypes(means)
    assert torch.equal(head.prototypes.data, means)
    with pytest.raises(ValueError, match='shape'):
        head.reset_prototypes(torch.randn(3, 8))
    with pytest.raises(ValueError, match='NaN'):
        head.reset_prototypes(torch.full((4, 8), float('nan')))
    with pytest.raises(ValueError, match=r'\[B, 8\]'):
        head(torch.randn(2, 7))


def test_margins_by_hand() -> None:
    distances = torch.tensor([[1.0, 3.0, 2.0], [4.0, 1.0, 5.0]])
    labels = torch.tensor([0, 0])
    # sample 0: min(3, 2) - 1 = 1; sample 1: min(1, 5) - 4 = -3 (misclassified)
    assert prototype_margin(distances, labels).tolist() == [1.0, -3.0]
    logits = torch.tensor([[2.0, 0.5, 1.0], [0.0, 3.0, -1.0]])
    assert logit_margin(logits, torch.tensor([0, 2])).tolist() == [1.0, -4.0]
    with pytest.raises(ValueError, match='logits'):
        logit_margin(torch.randn(3), torch.tensor([0, 1, 2]))


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_variants(name: str) -> None:
    model = ZelphaModel.variant(name, 5, widths=(8, 16), feature_dim=12, input_size=32)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 5)
    single = VARIANTS[name].get('scales') == (1.0,)
    assert (model.backbone.scales == (1.0,)) == single
    with pytest.raises(ValueError, match=r'channels|shape'):
        model(torch.rand(2, 4, 32, 32))
    with pytest.raises(ValueError, match='variant'):
        ZelphaModel.variant('resnet', 5)


def test_gradients_reach_all_parameters() -> None:
    model = ZelphaModel(3, widths=(8, 16), feature_dim=8, input_size=32)
    model(torch.rand(4, 3, 32, 32)).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_logit_scale_changes_neither_prediction_nor_margin() -> None:
    sharp = PrototypeHead(3, 4, logit_scale=10.0)
    plain = PrototypeHead(3, 4, logit_scale=1.0, learn_scale=False)
    plain.prototypes.data.copy_(sharp.prototypes.data)
    z = torch.randn(5, 4)
    with torch.no_grad():
        assert torch.allclose(sharp(z), 10 * plain(z), rtol=1e-5)
        assert torch.equal(sharp(z).argmax(1), plain(z).argmax(1))
    assert isinstance(sharp.log_scale, torch.nn.Parameter)
    assert 'log_scale' in dict(plain.named_buffers())
    with pytest.raises(ValueError, match='logit_scale'):
        PrototypeHead(3, 4, logit_scale=0.0)


def test_prototype_init_and_reset_calibration() -> None:
    # Prototypes at the origin: every class starts with the same logit, so
    # cross-entropy starts at ln C like a zero-initialised linear head.
    head = PrototypeHead(5, 4, init_std=0.0)
    logits = head(torch.randn(3, 4))
    assert torch.allclose(logits, logits[:, :1].expand(-1, 5))
    with pytest.raises(ValueError, match='init_std'):
        PrototypeHead(5, 4, init_std=-1.0)
    means = torch.randn(5, 4)
    head.reset_prototypes(means, calibrate_scale=False)
    assert float(head.log_scale.exp()) == pytest.approx(10.0)
    head.reset_prototypes(means)
    spread = float(torch.pdist(means).pow(2).mean())
    tau = float(head.log_scale.exp())
    assert tau * spread == pytest.approx(PrototypeHead.LOGIT_SPREAD, rel=1e-5)
