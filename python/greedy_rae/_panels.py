"""What the sktime and aeon estimators share: series of time points as
sequences of leaves, and the fitting, transforming and predicting that they
hand to :mod:`greedy_rae.sklearn` (their base classes add the checks and
conversions of their own library).

A leaf is ``window`` consecutive time points of every channel, flattened
(channel by channel). Windows do not overlap, except the last, which ends at
the series' end; a series shorter than the window is one leaf, padded with its
last value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from greedy_rae._estimators import shared_params

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


class Windows:
    """The leaves of a panel: windows of ``window`` time points of every channel."""

    window: int | None
    window_: int
    n_channels_: int

    def _series(self, X: Any) -> list[np.ndarray]:
        """One ``(channels, time)`` float array per series of an inner panel
        (3-D numpy, or a list of 2-D arrays)."""
        return [np.asarray(x, dtype=np.float64) for x in X]

    def _leaves(self, X: Any, fit: bool) -> list[np.ndarray]:
        series = self._series(X)
        if fit:
            check_window(self.window)
            self.window_ = resolve_window(self.window, series[0].shape[0])
            self.n_channels_ = series[0].shape[0]
        elif series and series[0].shape[0] != self.n_channels_:
            raise ValueError(
                f"X has {series[0].shape[0]} channels but this estimator was fitted on"
                f" {self.n_channels_}"
            )
        return [leaves(s, self.window_) for s in series]


class EncoderSteps(Windows):
    """``_fit`` and the features of a panel transformer, by an :class:`RAEEncoder`."""

    def _fit(self, X: Any, y: Any = None) -> Any:
        from greedy_rae import sklearn as sk

        params = shared_params(self, sk.RAEEncoder, leave_out=("window",))
        self.encoder_ = sk.RAEEncoder(**params).fit(self._leaves(X, fit=True), y)
        return self

    def _features(self, X: Any) -> np.ndarray:
        return np.asarray(self.encoder_.transform(self._leaves(X, fit=False)))


class ClassifierSteps(Windows):
    """``_fit``, ``_predict_proba`` and ``_predict`` of a panel classifier, by an
    :class:`RAEClassifier`; ``classes_`` is the base class's (the sorted labels)."""

    classes_: np.ndarray

    def _fit(self, X: Any, y: np.ndarray) -> Any:
        from greedy_rae import sklearn as sk

        params = shared_params(self, sk.RAEClassifier, leave_out=("window",))
        self.classifier_ = sk.RAEClassifier(**params).fit(self._leaves(X, fit=True), y)
        return self

    def _predict_proba(self, X: Any) -> np.ndarray:
        proba = self.classifier_.predict_proba(self._leaves(X, fit=False))
        # columns in the order of the base class's classes_
        out = np.zeros((len(proba), len(self.classes_)))
        out[:, np.searchsorted(self.classes_, self.classifier_.classes_)] = proba
        return out

    def _predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self._predict_proba(X), axis=1)])
