"""``python -m torchgeo_zelpha`` runs the ``zelpha`` command."""

from .cli import main

main()
