"""Checks of what a user hands in: leaves, sequences, labels (no TensorFlow here).

Every error names the argument at fault (``sequences``, ``validation_data``,
``labels``, ...) and says what was wrong and what is expected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _verb(subject: str, plural: str) -> str:
    """``plural`` ("have", "contain") agreeing with ``subject``: "leaves have",
    "sequence 3 has"."""
    if subject.endswith(("leaves", "sequences", "X")):
        return plural
    return "has" if plural == "have" else plural + "s"


def as_leaves(leaves: object, dim: int | None = None, what: str = "leaves") -> np.ndarray:
    """One sequence as a finite float32 ``(n, dim)`` array, or a clear error."""
    if isinstance(leaves, (str, bytes)) or leaves is None:
        raise TypeError(f"{what} must be a numeric (n, dim) array, got {type(leaves).__name__}")
    try:
        x = np.asarray(leaves)  # TensorFlow tensors convert themselves
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"{what} must be a rectangular (n, dim) array: {e}") from None
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{what} must be a numeric (n, dim) array, got dtype {x.dtype}")
    if np.iscomplexobj(x):
        raise TypeError(f"{what} must be real-valued, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (n, dim) array, got {x.ndim}-D shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{what} has no leaves: a tree needs at least one")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(
            f"{what} {_verb(what, 'have')} width {x.shape[1]} but the network expects width {dim}"
        )
    # float64 (and wider) values past float32's range: one pass finds whether
    # there are any (the largest magnitude; NaN compares False), a second where
    if x.dtype.kind == "f" and x.dtype.itemsize > 4 and np.abs(x).max() > _FLOAT32_MAX:
        big = (np.abs(x) > _FLOAT32_MAX) & np.isfinite(x)  # NaN and inf: below
        if big.any():
            r, c = np.argwhere(big)[0]
            raise ValueError(
                f"{what}: the value {float(x[r, c]):g} at row {r}, column {c} is beyond"
                f" float32's range (±{_FLOAT32_MAX:.4g}); the network computes in float32"
            )
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        r, c = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(
            f"{what} {_verb(what, 'contain')} NaN or inf (first at row {r}, column {c})"
        )
    return x


def as_sequences(sequences: object, dim: int | None, name: str = "sequences") -> list[np.ndarray]:
    """A list of ``(n_i, dim)`` arrays, checked one by one (``dim`` None: any
    width they share); errors name ``name``."""
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        raise ValueError(
            f"{name} must be a list of (n, dim) arrays; for one sequence pass [leaves]"
        )
    if isinstance(sequences, (str, bytes, dict)) or not isinstance(
        sequences, (Sequence, np.ndarray, Iterable)
    ):
        raise TypeError(f"{name} must be a list of (n, dim) arrays, got {type(sequences).__name__}")
    if not isinstance(sequences, (Sequence, np.ndarray)):
        sequences = list(sequences)  # a generator or another iterable, read once
    if len(sequences) == 0:
        raise ValueError(f"{name} is empty: give at least one (n, dim) array")
    where = "" if name == "sequences" else f"{name}: "
    out = [as_leaves(s, None, f"{where}sequence {i}") for i, s in enumerate(sequences)]
    widths = sorted({x.shape[1] for x in out})
    if len(widths) > 1:
        raise ValueError(f"{name} mix widths {widths}; all must have the same width")
    if dim is not None and widths[0] != dim:
        raise ValueError(f"{name} have width {widths[0]} but the network expects width {dim}")
    return out


def as_labels(
    labels: object, count: int, classes: int | None, name: str = "labels"
) -> np.ndarray | None:
    """One int64 label per sequence in ``-1..classes-1`` (-1: unlabelled), or None."""
    if labels is None:
        return None
    if classes is None:
        raise ValueError(f"{name} need a label head: create the RAE with classes=K")
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != count:
        raise ValueError(f"{name} must be one integer per sequence ({count}), got shape {y.shape}")
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0)):
            raise ValueError(f"{name} must be integers, got dtype {y.dtype}")
    bad = (y < -1) | (y >= classes)
    if bad.any():
        raise ValueError(
            f"{name} must be in -1..{classes - 1} (-1: unlabelled), got"
            f" {y[bad][0].item()!r} at sequence {int(np.argmax(bad))}"
        )
    return y.astype(np.int64)


class Labelled(NamedTuple):
    """Checked sequences and their labels (None: unlabelled)."""

    sequences: list[np.ndarray]
    labels: np.ndarray | None


def as_validation(
    validation_data: object,
    check: Callable[[object, str], list[np.ndarray]],
    classes: int | None,
) -> Labelled | None:
    """``validation_data``: sequences, or a ``(sequences, labels)`` pair; ``check``
    checks sequences (vectors or texts), naming them as it is told."""
    if validation_data is None:
        return None
    name = "validation_data"
    if isinstance(validation_data, tuple) and len(validation_data) == 2:
        seqs = check(validation_data[0], name)
        return Labelled(seqs, as_labels(validation_data[1], len(seqs), classes, name + " labels"))
    return Labelled(check(validation_data, name), None)


def split_off(data: Labelled, fraction: object) -> tuple[Labelled, Labelled]:
    """``data`` less its last ``fraction`` of sequences, and those (Keras's
    ``validation_split``: the last ones, before shuffling)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)):
        raise ValueError(f"validation_split must be a number in (0, 1), got {fraction!r}")
    if not 0.0 < float(fraction) < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction!r}")
    count = len(data.sequences)
    held = int(round(count * float(fraction)))
    if held < 1 or held >= count:
        raise ValueError(
            f"validation_split={fraction!r} of {count} sequences leaves {held} for validation"
            f" and {count - held} for training; both need at least one"
        )
    cut = count - held
    y = data.labels
    return (
        Labelled(data.sequences[:cut], None if y is None else y[:cut]),
        Labelled(data.sequences[cut:], None if y is None else y[cut:]),
    )
