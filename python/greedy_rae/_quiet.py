"""Importing TensorFlow without its C++ start-up chatter."""

from __future__ import annotations

import os
import sys


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up notes (CUDA probing on CPU machines,
    oneDNN) kept off the terminal: the C++ side writes them to the stderr file
    descriptor before any log level applies. Python errors of the import still
    surface, and nothing changes once TensorFlow is loaded."""
    if "tensorflow" in sys.modules:
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr is not a real file (notebooks)
        fd = -1
    if fd < 0:
        import tensorflow  # noqa: F401

        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            import tensorflow

            # the device probe (cuInit on a machine without a GPU) logs too
            tensorflow.config.list_physical_devices()
    finally:
        os.dup2(saved, fd)
        os.close(saved)
