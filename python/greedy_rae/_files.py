"""Files the user gets: their mode, and output paths checked before any work (no TensorFlow)."""

from __future__ import annotations

import os


def user_file_mode() -> int:
    """The mode of a file the user writes: ``0o666`` less the process's umask
    (``mkstemp``'s temporary files are ``0o600``, which a rename would keep)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def check_output(path: str, name: str, suffixes: tuple[str, ...]) -> None:
    """A ValueError naming ``name`` unless ``path`` ends in one of ``suffixes`` and
    its folder exists and is writable: said before a long job, not after it."""
    if not path.endswith(suffixes):
        raise ValueError(f"{name} must end in {' or '.join(suffixes)}, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{name}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: folder {folder!r} is not writable")
    if os.path.isdir(path):
        raise ValueError(f"{name}: {path!r} is a folder")


def check_folder(path: str, name: str) -> None:
    """A ValueError naming ``name`` unless ``path`` is a writable folder, or one
    that can be made (its parent exists and is writable)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{name} {path!r} is a file, not a folder")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(path) and not os.path.isdir(parent):
        raise ValueError(f"{name}: folder {parent!r} does not exist")
    if not os.access(path if os.path.isdir(path) else parent, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: {path!r} is not writable")
