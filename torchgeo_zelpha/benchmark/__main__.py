"""``python -m torchgeo_zelpha.benchmark``."""

from .cli import main

main()
