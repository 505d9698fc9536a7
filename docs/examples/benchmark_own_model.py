"""Benchmark your own classifier across image scales, without any ZELPHA model.

Run: python docs/examples/benchmark_own_model.py [DATA_ROOT] [OUT]
(DATA_ROOT holds UCMerced_LandUse/Images; the repo's tests/data/ucmerced works.)
"""

import sys

import torch
import torch.nn as nn
from torchgeo.datasets import UCMerced

from torchgeo_zelpha import ScaleShiftBenchmark

root = sys.argv[1] if len(sys.argv) > 1 else 'data/ucmerced'
out = sys.argv[2] if len(sys.argv) > 2 else 'output/own_model'

# 1. Your data: any map-style dataset of {'image', 'label'} dicts or (image, label)
#    tuples. Here TorchGeo's own UC Merced (its split files are needed; see
#    ScaleShiftUCMerced for seeded splits without them).
dataset = UCMerced(root, split='test')

# 2. Your model: any nn.Module mapping an image batch to [B, num_classes] logits,
#    with the preprocessing it expects (applied after each scale shift).
model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    nn.Flatten(),
    nn.Linear(16, len(dataset.classes)),
)


def normalize(images: torch.Tensor) -> torch.Tensor:
    """The preprocessing the model was trained with."""
    return images / 255.0


# 3. Benchmark: every test image is decoded once and zoomed to each scale in batch.
bench = ScaleShiftBenchmark(
    dataset, scales=(0.70, 0.85, 1.00, 1.15, 1.30), image_size=64
)
result = bench.evaluate({'my_cnn': (model, normalize)})
print(result.to_markdown())
print(f'robust accuracy: {result.models["my_cnn"].robust_accuracy:.3f}')
result.write(out)  # results.md / .csv / .json and per_image.csv, written atomically
ScaleShiftBenchmark.save_plots(result, out)  # accuracy and margin vs scale, histograms
