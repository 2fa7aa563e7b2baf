"""sktime interface: :class:`RAETransformer` (a panel of series to one row of
features each) and :class:`RAEClassifier`.

Needs sktime (``pip install 'greedy-rae[sktime]'``). Both take every panel
mtype that sktime converts (3-D numpy ``(instances, channels, time)``,
multi-index frames, nested frames, lists of frames, ...), multivariate and of
unequal length. A leaf is ``window`` consecutive time points of every channel
(by default one time point of a multivariate series, ten of a univariate one;
see :mod:`greedy_rae._panels`). They wrap
:class:`greedy_rae.sklearn.RAEEncoder` and :class:`greedy_rae.sklearn.RAEClassifier`,
with the same parameters and defaults.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import pandas as pd
    from sktime.classification.base import BaseClassifier
    from sktime.transformations.base import BaseTransformer
except ImportError:  # pragma: no cover - the message is the point
    raise ImportError("greedy_rae.sktime needs sktime: pip install 'greedy-rae[sktime]'") from None

from greedy_rae import _options, _panels

# the panels handed to _fit and friends: equal-length panels stay 3-D numpy,
# the others come as a list of (time, channels) frames
_INNER = ["df-list", "numpy3D"]

_TAGS = {
    "authors": "greedy-rae developers",
    "maintainers": "greedy-rae developers",
    "python_dependencies": ["tensorflow", "scikit-learn"],
    "X_inner_mtype": _INNER,
    "capability:multivariate": True,
    "capability:unequal_length": True,
    "capability:missing_values": False,
    "capability:categorical_in_X": False,
    "capability:random_state": True,
    "property:randomness": "derandomized",
}


def _sklearn_tags(kind: str) -> Any:
    """scikit-learn's tags of a panel estimator (scikit-learn >= 1.6 asks every
    estimator for them, and sktime's base classes do not answer): what lets
    ``cross_val_score`` stratify its folds, ``GridSearchCV`` score, and a
    ``Pipeline`` take the estimator as a step."""
    from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags, TransformerTags

    if kind == "classifier":
        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(),
            input_tags=InputTags(two_d_array=False, three_d_array=True),
        )
    return Tags(
        estimator_type=None,
        target_tags=TargetTags(required=False),
        transformer_tags=TransformerTags(),
        input_tags=InputTags(two_d_array=False, three_d_array=True),
    )


class _PanelSeries(_panels.Windows):
    def reset(self) -> Any:
        """sktime's ``reset`` (every ``fit`` starts with it), keeping the link that
        scikit-learn (>= 1.9) gives an estimator it fits inside a meta-estimator
        (``cross_val_score``, ``GridSearchCV``) and removes after the fit."""
        parent = self.__dict__.get("_parent_callback_ctx")
        out = super().reset()  # type: ignore[misc]
        if parent is not None:
            self._parent_callback_ctx = parent
        return out

    def _series(self, X: Any) -> list[np.ndarray]:
        """One ``(channels, time)`` float array per instance of an inner panel."""
        if isinstance(X, np.ndarray):  # numpy3D: (instances, channels, time)
            return [np.asarray(x, dtype=np.float64) for x in X]
        return [np.asarray(frame.to_numpy(), dtype=np.float64).T for frame in X]  # df-list


class RAETransformer(_PanelSeries, _panels.PanelEncoder, BaseTransformer):  # type: ignore[misc]
    """A greedy RAE as an sktime panel transformer: each series becomes one
    row of features (by default its tree's root, the mean of its nodes and the
    mean of its leaves).

    ``fit(X, y=None)`` trains the RAE on the panel ``X``; with class labels
    ``y`` (and ``supervised``), training is semi-supervised, with a label head.

    The parameters pairs, activation, normalize, decoder_activation, reconstruction,
    supervised, alpha, epochs, batch_size, learning_rate, optimizer, features, standardize,
    random_state: as for :class:`greedy_rae.sklearn.RAEEncoder`, with the same defaults.

    Parameters
    ----------
    window : int, optional
        Time points a leaf: each leaf is ``window`` consecutive time points of
        every channel, side by side; windows do not overlap, except the last,
        which ends at the series' end. Default: 1 for a multivariate panel, 10
        for a univariate one (a leaf of one number says little). ``window_``
        holds the one used.

    Examples
    --------
    >>> import numpy as np
    >>> from greedy_rae.sktime import RAETransformer
    >>> X = np.random.default_rng(0).normal(size=(10, 2, 12))  # numpy3D
    >>> y = np.array(["a", "b"] * 5)
    >>> RAETransformer(epochs=2, random_state=0).fit_transform(X, y).shape
    (10, 6)
    """

    _tags = {
        **_TAGS,
        "scitype:transform-input": "Series",
        "scitype:transform-output": "Primitives",
        "scitype:instancewise": False,
        "scitype:transform-labels": "None",
        "y_inner_mtype": "numpy1D",
        "requires_y": False,
        "fit_is_empty": False,
    }

    def __init__(
        self,
        pairs: str = _options.ESTIMATOR.pairs,
        activation: str = _options.ESTIMATOR.activation,
        normalize: bool = _options.ESTIMATOR.normalize,
        decoder_activation: str = _options.ESTIMATOR.decoder_activation,
        reconstruction: str = _options.ESTIMATOR.reconstruction,
        supervised: bool = True,
        alpha: float = _options.ESTIMATOR.alpha,
        epochs: int | None = _options.ESTIMATOR.epochs,
        batch_size: int = _options.ESTIMATOR.batch_size,
        learning_rate: float | None = _options.ESTIMATOR.learning_rate,
        optimizer: str = _options.ESTIMATOR.optimizer,
        features: str = _options.ESTIMATOR.features,
        standardize: bool = True,
        random_state: int | None = None,
        window: int | None = None,
    ) -> None:
        self.pairs = pairs
        self.activation = activation
        self.normalize = normalize
        self.decoder_activation = decoder_activation
        self.reconstruction = reconstruction
        self.supervised = supervised
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.features = features
        self.standardize = standardize
        self.random_state = random_state
        self.window = window
        super().__init__()

    def __sklearn_tags__(self) -> Any:
        return _sklearn_tags("transformer")

    def _transform(self, X: Any, y: Any = None) -> pd.DataFrame:
        return pd.DataFrame(self._features(X), columns=self.encoder_.get_feature_names_out())

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Small settings for sktime's estimator checks."""
        return [
            {"epochs": 1, "random_state": 0},
            {"epochs": 2, "pairs": "all", "features": "root", "supervised": False, "window": 3},
        ]


class RAEClassifier(_PanelSeries, _panels.PanelClassifier, BaseClassifier):  # type: ignore[misc]
    """The semi-supervised greedy RAE as an sktime classifier: the RAE trained
    with a label head, then a logistic regression on its standardised features,
    as in :class:`greedy_rae.sklearn.RAEClassifier`; ``predict_proba`` gives
    the regression's probabilities.

    The parameters pairs, activation, normalize, decoder_activation, reconstruction,
    alpha, epochs, batch_size, learning_rate, optimizer, features, standardize, C, random_state: as
    for :class:`greedy_rae.sklearn.RAEClassifier`, with the same defaults.

    Parameters
    ----------
    window : int, optional
        Time points a leaf: each leaf is ``window`` consecutive time points of
        every channel, side by side; windows do not overlap, except the last,
        which ends at the series' end. Default: 1 for a multivariate panel, 10
        for a univariate one (a leaf of one number says little). ``window_``
        holds the one used.

    Examples
    --------
    >>> import numpy as np
    >>> from greedy_rae.sktime import RAEClassifier
    >>> X = np.random.default_rng(0).normal(size=(10, 2, 12))  # numpy3D
    >>> y = np.array(["a", "b"] * 5)
    >>> RAEClassifier(epochs=2, random_state=0).fit(X, y).predict(X).shape
    (10,)
    """

    _tags = {**_TAGS, "capability:predict_proba": True}

    def __sklearn_tags__(self) -> Any:
        return _sklearn_tags("classifier")

    def __init__(
        self,
        pairs: str = _options.ESTIMATOR.pairs,
        activation: str = _options.ESTIMATOR.activation,
        normalize: bool = _options.ESTIMATOR.normalize,
        decoder_activation: str = _options.ESTIMATOR.decoder_activation,
        reconstruction: str = _options.ESTIMATOR.reconstruction,
        alpha: float = _options.ESTIMATOR.alpha,
        epochs: int | None = _options.ESTIMATOR.epochs,
        batch_size: int = _options.ESTIMATOR.batch_size,
        learning_rate: float | None = _options.ESTIMATOR.learning_rate,
        optimizer: str = _options.ESTIMATOR.optimizer,
        features: str = _options.ESTIMATOR.features,
        standardize: bool = True,
        C: float = 1.0,
        random_state: int | None = None,
        window: int | None = None,
    ) -> None:
        self.pairs = pairs
        self.activation = activation
        self.normalize = normalize
        self.decoder_activation = decoder_activation
        self.reconstruction = reconstruction
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.features = features
        self.standardize = standardize
        self.C = C
        self.random_state = random_state
        self.window = window
        super().__init__()

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict[str, Any]]:
        """Small settings for sktime's estimator checks."""
        return [
            {"epochs": 1, "random_state": 0},
            {"epochs": 2, "pairs": "all", "features": "root", "C": 0.5, "window": 3},
        ]
