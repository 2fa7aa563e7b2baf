"""aeon interface: :class:`RAETransformer` (a collection of series to one row
of features each) and :class:`RAEClassifier`.

Needs aeon (``pip install 'greedy-rae[aeon]'``). Both take every collection
type that aeon converts (3-D numpy ``(cases, channels, time)``, lists of
``(channels, time)`` arrays, ...), multivariate and of unequal length. A leaf
is ``window`` consecutive time points of every channel (by default one time
point of a multivariate series, ten of a univariate one; see
:mod:`greedy_rae._panels`). They wrap
:class:`greedy_rae.sklearn.RAEEncoder` and :class:`greedy_rae.sklearn.RAEClassifier`,
with the same parameters and defaults.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    from aeon.classification import BaseClassifier
    from aeon.transformations.collection import BaseCollectionTransformer
except ImportError:  # pragma: no cover - the message is the point
    raise ImportError("greedy_rae.aeon needs aeon: pip install 'greedy-rae[aeon]'") from None

from greedy_rae import _options, _panels

_TAGS = {
    "python_dependencies": "tensorflow",  # scikit-learn comes with aeon
    # equal-length collections stay 3-D numpy; the others come as a list of
    # (channels, time) arrays
    "X_inner_type": ["np-list", "numpy3D"],
    "capability:multivariate": True,
    "capability:unequal_length": True,
    "capability:missing_values": False,
}


class RAETransformer(_panels.PanelEncoder, BaseCollectionTransformer):  # type: ignore[misc]
    """A greedy RAE as an aeon collection transformer: each series becomes one
    row of features (by default its tree's root, the mean of its nodes and the
    mean of its leaves).

    ``fit(X, y=None)`` trains the RAE on the collection ``X``; with class
    labels ``y`` (and ``supervised``), training is semi-supervised, with a
    label head.

    The parameters pairs, activation, normalize, decoder_activation, reconstruction,
    supervised, alpha, epochs, batch_size, learning_rate, optimizer, features, standardize,
    random_state: as for :class:`greedy_rae.sklearn.RAEEncoder`, with the same defaults.

    Parameters
    ----------
    window : int, optional
        Time points a leaf, as for :class:`greedy_rae.sktime.RAETransformer`:
        default 1 for multivariate series, 10 for univariate ones.

    Examples
    --------
    >>> from aeon.testing.data_generation import make_example_3d_numpy
    >>> from greedy_rae.aeon import RAETransformer
    >>> X, y = make_example_3d_numpy(n_cases=10, n_channels=2, n_timepoints=12)
    >>> RAETransformer(epochs=2, random_state=0).fit_transform(X, y).shape
    (10, 6)
    """

    _tags = {**_TAGS, "output_data_type": "Tabular", "requires_y": False, "fit_is_empty": False}

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

    def _transform(self, X: Any, y: Any = None) -> np.ndarray:
        return self._features(X)

    @classmethod
    def _get_test_params(cls, parameter_set: str = "default") -> dict[str, Any]:
        """Small settings for aeon's estimator checks."""
        return {"epochs": 1, "random_state": 0}


class RAEClassifier(_panels.PanelClassifier, BaseClassifier):  # type: ignore[misc]
    """The semi-supervised greedy RAE as an aeon classifier: the RAE trained
    with a label head, then a logistic regression on its standardised features,
    as in :class:`greedy_rae.sklearn.RAEClassifier`; ``predict_proba`` gives
    the regression's probabilities.

    The parameters pairs, activation, normalize, decoder_activation, reconstruction,
    alpha, epochs, batch_size, learning_rate, optimizer, features, standardize, C, random_state: as
    for :class:`greedy_rae.sklearn.RAEClassifier`, with the same defaults.

    Parameters
    ----------
    window : int, optional
        Time points a leaf, as for :class:`greedy_rae.sktime.RAETransformer`:
        default 1 for multivariate series, 10 for univariate ones.

    Examples
    --------
    >>> from aeon.testing.data_generation import make_example_3d_numpy
    >>> from greedy_rae.aeon import RAEClassifier
    >>> X, y = make_example_3d_numpy(n_cases=10, n_channels=2, n_timepoints=12)
    >>> RAEClassifier(epochs=2, random_state=0).fit(X, y).predict(X).shape
    (10,)
    """

    _tags = _TAGS

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
    def _get_test_params(cls, parameter_set: str = "default") -> dict[str, Any]:
        """Small settings for aeon's estimator checks."""
        return {"epochs": 1, "random_state": 0}
