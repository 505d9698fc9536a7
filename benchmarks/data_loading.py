"""Time the data pipeline: decode once into memory, then one training epoch.

Usage: python benchmarks/data_loading.py --root data/ucmerced [--image-size 128]
"""

import argparse
import time

from torchgeo_zelpha.datamodules import ScaleShiftUCMercedDataModule


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--root', required=True)
    parser.add_argument('--image-size', type=int, default=128)
    parser.add_argument('--batch-size', type=int, default=32)
    args = parser.parse_args()
    dm = ScaleShiftUCMercedDataModule(
        root=args.root, image_size=args.image_size, batch_size=args.batch_size
    )
    start = time.perf_counter()
    dm.setup('fit')
    decode = time.perf_counter() - start
    print(
        f'decode train + val into memory: {decode:.1f} s '
        f'({len(dm.train_dataset)} + {len(dm.val_dataset)} images, '
        f'{dm.train_dataset.images.dtype}, {args.image_size} px)'
    )
    start = time.perf_counter()
    n = 0
    for batch in dm.train_dataloader():
        batch['image'] = batch['image'].float() / dm.value_scale
        n += len(dm.train_aug(batch)['label'])
    print(
        f'one training epoch of loading + augmentation: '
        f'{time.perf_counter() - start:.2f} s for {n} images'
    )


if __name__ == '__main__':
    main()
