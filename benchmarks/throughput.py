"""Forward and training-step throughput of every ZELPHA variant on this machine.

Usage: python benchmarks/throughput.py [--sizes 128 256] [--batch 32] [--repeats 3]
                                       [--multi-scale-only]

Prints images/s (forward, eval) and (train step: forward, backward, AdamW step)
for each variant and input size, then the batched (one backbone call for all
scales) vs looped (one call per scale) multi-scale forward.
"""

import argparse
import os
import platform
import time

import torch

from torchgeo_zelpha.models import VARIANTS, ZelphaModel
from torchgeo_zelpha.transforms import scale_shift


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def variant_table(sizes: list[int], batch: int, repeats: int) -> None:
    """Print forward and train-step images/s of every variant at every size."""
    print('| variant | px | forward img/s | train step img/s |')
    print('|---|---|---|---|')
    for size in sizes:
        x = torch.rand(batch, 3, size, size)
        y = torch.randint(0, 21, (batch,))
        for name in VARIANTS:
            if name == 'zelpha_no_proto':
                continue  # same model as zelpha
            model = ZelphaModel.variant(name, 21, input_size=size)
            opt = torch.optim.AdamW(model.parameters())

            def forward(model=model, x=x) -> None:
                model.eval()
                with torch.no_grad():
                    model(x)

            def step(model=model, opt=opt, x=x, y=y) -> None:
                model.train()
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()

            f = batch / timed(forward, repeats)
            t = batch / timed(step, repeats)
            print(f'| {name} | {size} | {f:.0f} | {t:.0f} |')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--sizes', type=int, nargs='+', default=[128, 256])
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--multi-scale-only',
        action='store_true',
        help='only the batched vs looped multi-scale comparison',
    )
    args = parser.parse_args()
    torch.manual_seed(0)
    # How big tensors are allocated decides what a larger batch costs on a CPU.
    allocator = ', '.join(
        f'{k}={os.environ[k]}'
        for k in ('THP_MEM_ALLOC_ENABLE', 'LD_PRELOAD')
        if os.environ.get(k)
    )
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'{platform.processor() or platform.machine()}, batch {args.batch}, '
        f'allocator: {allocator or "default"}'
    )
    if not args.multi_scale_only:
        variant_table(args.sizes, args.batch, args.repeats)

    size = args.sizes[0]
    x = torch.rand(args.batch, 3, size, size)
    model = ZelphaModel.variant('zelpha', 21, input_size=size).eval()
    pooled = model.backbone

    def looped() -> None:
        with torch.no_grad():
            torch.stack(
                [pooled.backbone(scale_shift(x, s)) for s in pooled.scales], 1
            ).mean(1)

    def batched() -> None:
        with torch.no_grad():
            pooled(x)

    def single() -> None:
        with torch.no_grad():
            pooled.backbone(x)

    def zooms() -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([scale_shift(x, s) for s in pooled.scales])

    zoomed = zooms()

    def backbone_only() -> None:
        with torch.no_grad():
            pooled.backbone(zoomed)

    t_single, t_loop, t_batch, t_zooms, t_backbone = (
        timed(f, args.repeats) for f in (single, looped, batched, zooms, backbone_only)
    )
    print(
        f'\nmulti-scale forward at {size} px, S = {len(pooled.scales)}: single scale '
        f'{t_single * 1e3:.0f} ms, looped {t_loop * 1e3:.0f} ms '
        f'({t_loop / t_single:.2f}x), batched {t_batch * 1e3:.0f} ms '
        f'({t_batch / t_single:.2f}x)'
    )
    # Where the batched call's time goes: the S zooms, and the backbone on S*B.
    print(
        f'batched call = zooms {t_zooms * 1e3:.0f} ms ({t_zooms / t_single:.2f}x) '
        f'+ backbone on S*B images {t_backbone * 1e3:.0f} ms '
        f'({t_backbone / t_single:.2f}x)'
    )


if __name__ == '__main__':
    main()
