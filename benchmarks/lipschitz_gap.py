"""Measure the two known gaps of spectral normalisation, and the network bound.

Usage: python benchmarks/lipschitz_gap.py [--size 64] [--steps 30]

(a) reshape vs true conv norm: with PyTorch's spectral norm of the reshaped
    weight ('reshape'), each conv's true operator norm (power iteration with
    conv2d / conv_transpose2d at the layer's input size) is printed; with
    ConvOperatorNorm ('operator') it is ~1 by construction.
(b) BatchNorm: its eval-mode gain max |gamma| / sqrt(var + eps) after a few
    training steps, which the network upper bound counts.
Then the whole-network upper bound against the empirical finite-difference
estimates, for each normalisation choice. Random data, seeded; CPU.
"""

import argparse

import torch

from torchgeo_zelpha.lipschitz import empirical_lipschitz, network_upper_bound
from torchgeo_zelpha.models import ZelphaModel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--steps', type=int, default=30)
    args = parser.parse_args()
    print(
        '| spectral norm | norm | true conv norms | BN gains | upper bound | '
        'empirical (noise) | empirical (rescale) |'
    )
    print('|---|---|---|---|---|---|---|')
    for mode in ('none', 'reshape', 'operator'):
        for norm in ('batch', 'none'):
            torch.manual_seed(0)
            model = ZelphaModel(
                21,
                norm=norm,
                spectral_norm=mode != 'none',
                spectral_norm_mode='operator' if mode == 'none' else mode,
                input_size=args.size,
            )
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
            x = torch.rand(16, 3, args.size, args.size)
            y = torch.randint(0, 21, (16,))
            model.train()
            for _ in range(args.steps):  # a few steps: BN statistics and weights move
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
            model.eval()
            bound = network_upper_bound(model.backbone, x, 100)
            emp = empirical_lipschitz(model.features, x)
            convs = [v for _, k, v in bound.layers if k == 'Conv2d']
            bns = [v for _, k, v in bound.layers if k == 'BatchNorm2d']
            print(
                f'| {mode} | {norm} | {", ".join(f"{v:.2f}" for v in convs)} | '
                f'{", ".join(f"{v:.2f}" for v in bns) or "-"} | {bound.total:.3g} | '
                f'{emp["noise"]:.3g} | {emp["rescale"]:.3g} |'
            )


if __name__ == '__main__':
    main()
