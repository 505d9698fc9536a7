#!/usr/bin/env python3
"""Generate a tiny fake EuroSAT in TorchGeo's layout (run from this folder)."""

import os
import shutil

import numpy as np
import rasterio

CLASSES = [
    'AnnualCrop', 'Forest', 'HerbaceousVegetation', 'Highway', 'Industrial',
    'Pasture', 'PermanentCrop', 'Residential', 'River', 'SeaLake',
]  # fmt: skip
IMAGES_PER_CLASS = 5
SIZE = 16
BANDS = 13

if __name__ == '__main__':
    rng = np.random.default_rng(0)
    top = 'ds'
    root = os.path.join(top, 'images', 'remote_sensing', 'otherDatasets', 'sentinel_2', 'tif')
    shutil.rmtree(top, ignore_errors=True)
    names = []
    profile = {
        'driver': 'GTiff', 'dtype': 'uint16', 'count': BANDS,
        'height': SIZE, 'width': SIZE,
    }  # fmt: skip
    for label, cls in enumerate(CLASSES):
        os.makedirs(os.path.join(root, cls))
        for i in range(1, IMAGES_PER_CLASS + 1):
            img = 500 + 300 * label + rng.normal(0, 100, (BANDS, SIZE, SIZE))
            name = f'{cls}_{i}.tif'
            with rasterio.open(os.path.join(root, cls, name), 'w', **profile) as dst:
                dst.write(np.clip(img, 0, 10000).astype(np.uint16))
            names.append(name)
    for split, part in zip(('train', 'val', 'test'), ((1, 2, 3), (4,), (5,))):
        with open(f'eurosat-{split}.txt', 'w') as f:
            for name in names:
                if int(name.split('_')[-1][:-4]) in part:
                    f.write(name.replace('.tif', '.jpg') + '\n')
