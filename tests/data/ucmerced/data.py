#!/usr/bin/env python3
"""Generate a tiny fake UC Merced in TorchGeo's layout (run from this folder)."""

import os
import shutil

import numpy as np
from PIL import Image

CLASSES = [
    'agricultural', 'airplane', 'baseballdiamond', 'beach', 'buildings',
    'chaparral', 'denseresidential', 'forest', 'freeway', 'golfcourse', 'harbor',
    'intersection', 'mediumresidential', 'mobilehomepark', 'overpass',
    'parkinglot', 'river', 'runway', 'sparseresidential', 'storagetanks',
    'tenniscourt',
]  # fmt: skip
IMAGES_PER_CLASS = 5
SIZE = 32

if __name__ == '__main__':
    rng = np.random.default_rng(0)
    root = os.path.join('UCMerced_LandUse', 'Images')
    shutil.rmtree('UCMerced_LandUse', ignore_errors=True)
    names = []
    for label, cls in enumerate(CLASSES):
        os.makedirs(os.path.join(root, cls))
        for i in range(IMAGES_PER_CLASS):
            # Like the real data, a few images are not square.
            h = SIZE - 2 if i == 0 else SIZE
            # Class-dependent mean colour so that tiny models can learn something.
            base = rng.integers(0, 256, size=3) * 0 + (label * 12) % 256
            img = np.clip(base + rng.normal(0, 30, (h, SIZE, 3)), 0, 255)
            name = f'{cls}{i:02d}.tif'
            Image.fromarray(img.astype(np.uint8)).save(os.path.join(root, cls, name))
            names.append(name)
    # TorchGeo's split files, for split_source='torchgeo'.
    for split, part in zip(('train', 'val', 'test'), (range(0, 3), [3], [4])):
        with open(f'uc_merced-{split}.txt', 'w') as f:
            for name in names:
                if int(name[-6:-4]) in part:
                    f.write(name + '\n')
