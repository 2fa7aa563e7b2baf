"""Windows: series of time points as sequences of leaves, for every estimator
(scikit-learn's 2-D rows, and the sktime and aeon panels).

A leaf is ``window`` consecutive time points of every channel, flattened
(channel by channel). Windows do not overlap, except the last, which ends at
the series' end; a series shorter than the window is one leaf, padded with its
last value. The default window is 10 time points of a univariate series and 1
of a multivariate one, and never longer than the longest series fitted.
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


def resolve_window(window: int | None, channels: int, length: int) -> int:
    """``window`` when given, else its default: 10 time points for one channel, 1
    for several, and at most ``length`` (the longest series fitted)."""
    if window is not None:
        return int(window)
    return min(UNIVARIATE_WINDOW if channels == 1 else 1, length)


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
