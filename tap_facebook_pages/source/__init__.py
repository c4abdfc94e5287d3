"""The source layer: everything that turns Graph answers into rows, with explicit inputs.

Nothing here imports ``singer_sdk``, ``tap.py`` or ``streams/``."""
