"""What the sktime and aeon estimators share: a panel's series cut into
windows (:mod:`greedy_rae._windows`), then handed to the estimators of
:mod:`greedy_rae.sklearn` to fit, transform and predict (their base classes add
the checks and conversions of their own library)."""

from __future__ import annotations

from typing import Any

import numpy as np

from greedy_rae import sklearn as sk
from greedy_rae._estimators import shared_params
from greedy_rae._windows import check_window, leaves, resolve_window


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
            longest = max(s.shape[1] for s in series)
            self.window_ = resolve_window(self.window, series[0].shape[0], longest)
            self.n_channels_ = series[0].shape[0]
        elif series and series[0].shape[0] != self.n_channels_:
            raise ValueError(
                f"X has {series[0].shape[0]} channels but this estimator was fitted on"
                f" {self.n_channels_}"
            )
        return [leaves(s, self.window_) for s in series]


class PanelEncoder(Windows):
    """``_fit`` and the features of a panel transformer, by an :class:`RAEEncoder`."""

    def _fit(self, X: Any, y: Any = None) -> Any:
        params = shared_params(self, sk.RAEEncoder, leave_out=("window",))
        self.encoder_ = sk.RAEEncoder(**params).fit(self._leaves(X, fit=True), y)
        return self

    def _features(self, X: Any) -> np.ndarray:
        return np.asarray(self.encoder_.transform(self._leaves(X, fit=False)))


class PanelClassifier(Windows):
    """``_fit``, ``_predict_proba`` and ``_predict`` of a panel classifier, by an
    :class:`RAEClassifier`; ``classes_`` is the base class's (the sorted labels)."""

    classes_: np.ndarray

    def _fit(self, X: Any, y: np.ndarray) -> Any:
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
