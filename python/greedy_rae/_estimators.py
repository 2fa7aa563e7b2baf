"""What the scikit-learn estimators share (and the sktime and aeon ones hand
on): seeds from ``random_state``, class codes, telling a 2-D array of rows from a list of
sequences, the parameter lists, and pickling with the model file inside.
scikit-learn and TensorFlow are imported where they are needed."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np


def seed_of(random_state: Any) -> int | None:
    """An int seed from scikit-learn's ``random_state`` (None, an int or a RandomState)."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return None if random_state is None else int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise ValueError(f"random_state must be None, an int or a RandomState, got {random_state!r}")


def class_codes(y: Any, count: int, unlabelled: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The classes of ``y`` (sorted) and each sequence's code in them, -1 where
    ``y`` holds the ``unlabelled`` mark (None: every label is a class); errors
    name ``y``. A column vector is read as a vector, with scikit-learn's
    ``DataConversionWarning``."""
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import column_or_1d

    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim != 1 or len(y) != count:
        raise ValueError(f"y must hold one label per sequence ({count}), got shape {y.shape}")
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type: {kind!r}. y must hold class labels (for a regression"
            " target, fit the encoder without y or with supervised=False)"
        )
    known = np.ones(count, dtype=bool) if unlabelled is None else y != unlabelled
    classes, codes = np.unique(y[known], return_inverse=True)
    if len(classes) < 2:
        besides = "" if unlabelled is None else f" besides {unlabelled!r} (unlabelled)"
        raise ValueError(
            f"y holds {len(classes)} class{'' if len(classes) == 1 else 'es'}{besides};"
            " a classifier needs at least 2"
        )
    out = np.full(count, -1, dtype=np.int64)
    out[known] = codes
    return classes, out


def is_rows(X: Any) -> bool:
    """Whether ``X`` is a 2-D array (dense or sparse, or a
    list of equal rows of numbers), not a list of sequences: then each row is
    one univariate series."""
    import scipy.sparse

    if scipy.sparse.issparse(X):
        return True
    if isinstance(X, (list, tuple)):  # rows of numbers, not (n, dim) sequences
        return len(X) > 0 and np.ndim(X[0]) == 1
    if not hasattr(X, "__array__"):
        return False
    shape = getattr(X, "shape", None)
    return len(shape if shape is not None else np.asarray(X).shape) == 2


def shared_params(estimator: Any, to: type, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """``estimator``'s parameters that the class ``to`` takes too, by name: what a
    wrapper hands the estimator it wraps. The parameter lists live in one place,
    each constructor's signature (whose defaults come from ``_options.ESTIMATOR``)."""
    names = list(inspect.signature(to).parameters)
    return {n: getattr(estimator, n) for n in names if hasattr(estimator, n) and n not in leave_out}


class PicklesModelFile:
    """Pickling of an estimator whose fitted ``rae_`` travels as its model file."""

    def __getstate__(self) -> dict[str, Any]:
        from greedy_rae import saving

        state = dict(self.__dict__)
        rae = state.pop("rae_", None)
        if rae is not None:
            state["_rae_bytes"] = saving.to_bytes(rae)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        data = state.pop("_rae_bytes", None)
        self.__dict__.update(state)
        if data is not None:
            from greedy_rae import saving
            from greedy_rae.rae import RAE

            self.rae_ = saving.from_bytes(RAE, data)
