"""Series of time points as sequences of leaves, for the sktime and aeon
estimators (numpy only).

A leaf is ``window`` consecutive time points of every channel, flattened
(channel by channel). Windows do not overlap, except the last, which ends at
the series' end; a series shorter than the window is one leaf, padded with its
last value.
"""

from __future__ import annotations

import numpy as np

# univariate series: a window of this many samples a leaf, unless told otherwise
UNIVARIATE_WINDOW = 10


def check_window(window: object) -> None:
    if window is not None and (
        isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1
    ):
        raise ValueError(f"window must be None or a positive integer, got {window!r}")


def resolve_window(window: int | None, channels: int) -> int:
    """``window``, or its default: 1 for several channels, 10 for one."""
    if window is not None:
        return int(window)
    return UNIVARIATE_WINDOW if channels == 1 else 1


def leaves(series: np.ndarray, window: int) -> np.ndarray:
    """One ``(channels, time)`` series as ``(leaves, channels * window)`` leaves."""
    x = np.asarray(series, dtype=np.float64)
    if window == 1:
        return np.ascontiguousarray(x.T)
    channels, length = x.shape
    if length < window:
        x = np.pad(x, ((0, 0), (0, window - length)), mode="edge")
        length = window
    starts = list(range(0, length - window + 1, window))
    if starts[-1] + window < length:
        starts.append(length - window)
    return np.stack([x[:, s : s + window].reshape(-1) for s in starts])
