"""Forward and training-step throughput of every ZELPHA variant on this machine.

Usage: python benchmarks/throughput.py [--sizes 128 256] [--batch 32] [--repeats 3]
                                       [--rounds 15] [--multi-scale-only]

Prints images/s (forward, eval) and (train step: forward, backward, AdamW step)
for each variant and input size, then the batched (one backbone call for all
scales) vs looped (one call per scale) multi-scale forward, as ratios to the
single-scale forward measured in the same rounds.
"""

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

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


def interleaved(
    fns: dict[str, Callable[[], object]], rounds: int
) -> dict[str, list[float]]:
    """Time every function once per round, rotating the order between rounds.

    A shared 2-core machine drifts in speed by up to ~30 % over minutes, as large as
    the effect being measured; timing the candidates side by side in each round and
    comparing them within the round cancels that drift, which best-of-N blocks run
    one after another do not.
    """
    for fn in fns.values():
        fn()  # warm-up: first-call allocations and kernel selection
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def ratios(times: list[float], reference: list[float]) -> list[float]:
    """Per-round ratios of two interleaved timings."""
    return [t / r for t, r in zip(times, reference, strict=True)]


def ratio_summary(times: list[float], reference: list[float], limit: float) -> str:
    """Median and range of the per-round ratios, and how many rounds stay <= limit."""
    per_round = ratios(times, reference)
    within = sum(ratio <= limit for ratio in per_round)
    return (
        f'median {statistics.median(per_round):.2f}x (range {min(per_round):.2f}x-'
        f'{max(per_round):.2f}x; <= {limit:g}x in {within} of {len(per_round)} rounds)'
    )


def multi_scale_comparison(size: int, batch: int, rounds: int) -> None:
    """Print the batched and looped multi-scale forward against the single scale."""
    x = torch.rand(batch, 3, size, size)
    model = ZelphaModel.variant('zelpha', 21, input_size=size).eval()
    pooled = model.backbone
    num_scales = len(pooled.scales)
    zoomed = pooled.zoomed_copies(x)

    fns: dict[str, Callable[[], object]] = {
        'single': lambda: pooled.backbone(x),
        'batched': lambda: pooled(x),
        'looped': lambda: torch.stack(
            [
                pooled.backbone(x if s == 1 else scale_shift(x, s))
                for s in pooled.scales
            ],
            1,
        ),
        'zooms': lambda: pooled.zoomed_copies(x),
        'backbone': lambda: pooled.backbone(zoomed),
    }
    with torch.no_grad():
        times = interleaved(fns, rounds)
    single = times['single']
    ms = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    print(
        f'\nmulti-scale forward at {size} px, S = {num_scales}, {rounds} interleaved '
        f'rounds (medians): single scale {ms["single"]:.0f} ms, looped '
        f'{ms["looped"]:.0f} ms, batched {ms["batched"]:.0f} ms'
    )
    print(f'batched / single: {ratio_summary(times["batched"], single, num_scales)}')
    print(f'looped / single: {ratio_summary(times["looped"], single, num_scales)}')
    # Where the batched call's time goes: the S zooms, and the backbone on S*B.
    part = {
        name: statistics.median(ratios(times[name], single))
        for name in ('zooms', 'backbone')
    }
    print(
        f'batched call = zooms {ms["zooms"]:.0f} ms ({part["zooms"]:.2f}x) '
        f'+ backbone on S*B images {ms["backbone"]:.0f} ms ({part["backbone"]:.2f}x)'
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--sizes', type=int, nargs='+', default=[128, 256])
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--rounds',
        type=int,
        default=15,
        help='interleaved rounds of the multi-scale comparison',
    )
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
        for k in ('THP_MEM_ALLOC_ENABLE', 'GLIBC_TUNABLES', 'LD_PRELOAD')
        if os.environ.get(k)
    )
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'{platform.processor() or platform.machine()}, batch {args.batch}, '
        f'allocator: {allocator or "default"}'
    )
    if not args.multi_scale_only:
        variant_table(args.sizes, args.batch, args.repeats)

    multi_scale_comparison(args.sizes[0], args.batch, args.rounds)


if __name__ == '__main__':
    main()
