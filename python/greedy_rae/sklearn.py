"""scikit-learn interface: :class:`RAEEncoder`, a transformer from sequences to
features, and :class:`RAEClassifier`, a classifier of sequences.

Needs scikit-learn (``pip install 'greedy-rae[sklearn]'``). Both take ``X`` as
a list of ``(n_i, dim)`` arrays (or texts with ``text=True``). Their defaults
are Socher et al.'s semi-supervised RAE, chosen once for every data set in
``bench/classify.py`` and not tuned per set.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
    from sklearn.utils.validation import check_is_fitted
except ImportError:  # pragma: no cover - the message is the point
    raise ImportError(
        "greedy_rae.sklearn needs scikit-learn: pip install 'greedy-rae[sklearn]'"
    ) from None

import greedy_rae as gr
from greedy_rae import _inputs


def _seed(random_state: Any) -> int | None:
    """An int seed from scikit-learn's ``random_state`` (None, an int or a RandomState)."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return None if random_state is None else int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise ValueError(f"random_state must be None, an int or a RandomState, got {random_state!r}")


def class_codes(y: Any, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The classes of ``y`` (sorted) and each sequence's code in them, -1 where
    unlabelled (``-1`` in integer ``y``); errors name ``y``."""
    from sklearn.utils.multiclass import type_of_target

    y = np.asarray(y)
    if y.ndim != 1 or len(y) != count:
        raise ValueError(f"y must hold one label per sequence ({count}), got shape {y.shape}")
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"y must hold class labels; got {kind!r} targets (for a regression target,"
            " fit the encoder without y or with supervised=False)"
        )
    known = y != -1 if np.issubdtype(y.dtype, np.integer) else np.ones(count, dtype=bool)
    classes, codes = np.unique(y[known], return_inverse=True)
    out = np.full(count, -1, dtype=np.int64)
    out[known] = codes
    return classes, out


# the parameters that the sktime and aeon estimators hand on
ENCODER_PARAMS = (
    "pairs",
    "activation",
    "normalize",
    "decoder_activation",
    "reconstruction",
    "supervised",
    "alpha",
    "epochs",
    "batch_size",
    "learning_rate",
    "features",
    "standardize",
    "random_state",
)
CLASSIFIER_PARAMS = (
    "pairs",
    "activation",
    "normalize",
    "reconstruction",
    "alpha",
    "epochs",
    "batch_size",
    "learning_rate",
    "features",
    "standardize",
    "C",
    "random_state",
)


class _Pickled:
    """Pickling of an estimator whose fitted ``rae_`` travels as its model file."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        rae = state.pop("rae_", None)
        if rae is not None:
            fd, path = tempfile.mkstemp(suffix=".keras", prefix="greedy-rae-")
            os.close(fd)
            try:
                rae.save(path)
                with open(path, "rb") as f:
                    state["_rae_bytes"] = f.read()
            finally:
                os.remove(path)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        data = state.pop("_rae_bytes", None)
        if "seed" in state and "random_state" not in state:  # pickled before the rename
            state["random_state"] = state.pop("seed")
        self.__dict__.update(state)
        if data is not None:
            fd, path = tempfile.mkstemp(suffix=".keras", prefix="greedy-rae-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                self.rae_ = gr.RAE.load(path)
            finally:
                os.remove(path)


class RAEEncoder(_Pickled, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A greedy RAE as a scikit-learn transformer.

    ``fit(X, y=None)`` trains an :class:`~greedy_rae.RAE` on ``X``, a list of
    ``(n_i, dim)`` arrays; ``transform(X)`` returns their features. With ``y``
    (any class labels; ``-1`` marks an unlabelled sequence when ``y`` holds
    integers), training is semi-supervised: a label head is trained with the
    reconstruction, as in a ``Pipeline`` ending in a classifier, which hands
    ``y`` to every step's ``fit``. Works in ``Pipeline``, ``cross_val_score``
    and ``GridSearchCV``; survives ``clone`` and pickling (the trained networks
    travel inside the pickle).

    Parameters
    ----------
    dim : int, optional
        Width of the leaves; default: that of ``X`` (50 with ``text``).
    pairs, activation, normalize, decoder_activation, reconstruction, alpha
        As for :class:`~greedy_rae.RAE`; the defaults are Socher et al.'s
        network: adjacent pairs, tanh, unit-length parents, a linear decoder,
        weighted reconstruction.
    supervised : bool
        Train the label head on ``y`` when ``fit`` is given one (default);
        ``False`` ignores ``y``.
    classes : int, optional
        The number of classes, with ``y`` already coded ``0..classes-1`` (and
        -1); default: the distinct labels of ``y``.
    epochs, batch_size : int
        Training length and minibatch size.
    learning_rate : float
        Adam's learning rate.
    features : {"root", "mean", "leaves", "root+mean", "root+mean+leaves"}
        What ``transform`` returns (see :meth:`RAE.encode`): by default the
        root, the mean of all nodes and the mean of the leaves.
    standardize : bool
        Standardise each leaf column with the training leaves' mean and
        deviation (kept as ``mean_`` and ``scale_``) before the RAE sees them;
        not for texts.
    random_state : int, optional
        Seed of the initial weights and of the shuffling.
    text : bool
        ``X`` holds texts (strings, token lists or 1-D id arrays): a word table
        is trained with the network (see :class:`~greedy_rae.RAE`).
    min_count : int
        With ``text``, words seen fewer times in the training texts are ``<unk>``.
    vocabulary, embeddings : optional
        With ``text``: a vocabulary of your own (default: the training texts'
        words) and the table's start (see :class:`~greedy_rae.RAE`).

    Attributes
    ----------
    rae_ : RAE
        The trained RAE (it sees standardised leaves when ``standardize``).
    classes_ : numpy.ndarray
        The labels the head was trained on (empty when unsupervised).
    """

    def __init__(
        self,
        dim: int | None = None,
        pairs: str = "adjacent",
        activation: str = "tanh",
        normalize: bool = True,
        decoder_activation: str = "linear",
        reconstruction: str = "weighted",
        supervised: bool = True,
        classes: int | None = None,
        alpha: float = 0.2,
        epochs: int = 50,
        batch_size: int = 32,
        learning_rate: float = 0.01,
        features: str = "root+mean+leaves",
        standardize: bool = True,
        random_state: int | None = None,
        text: bool = False,
        min_count: int = 1,
        vocabulary: Any = None,
        embeddings: Any = None,
    ) -> None:
        self.dim = dim
        self.pairs = pairs
        self.activation = activation
        self.normalize = normalize
        self.decoder_activation = decoder_activation
        self.reconstruction = reconstruction
        self.supervised = supervised
        self.classes = classes
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.features = features
        self.standardize = standardize
        self.random_state = random_state
        self.text = text
        self.min_count = min_count
        self.vocabulary = vocabulary
        self.embeddings = embeddings

    def _check_X(self, X: Any, fitted: bool) -> list[Any]:
        if self.text:
            sequences = list(X) if not isinstance(X, (str, bytes)) else [X]
            if not sequences:
                raise ValueError("X is empty: give at least one text")
            return sequences
        width = self.rae_.dim if fitted else self.dim
        if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype != object:
            raise ValueError(
                f"X must be a list of (n, dim) sequences, got a 1-D array of shape {X.shape};"
                " for one univariate series pass [series.reshape(-1, 1)]"
            )
        seqs = _inputs.as_sequences(X, width, "X")
        if fitted and self.standardize:
            seqs = [(s - self.mean_) / self.scale_ for s in seqs]
        return seqs

    def fit(self, X: Any, y: Any = None) -> RAEEncoder:
        import keras

        sequences = self._check_X(X, fitted=False)
        text: dict[str, Any] = {}
        if self.text:
            from greedy_rae.text import Vocabulary

            vocabulary = self.vocabulary
            if vocabulary is None:  # the training texts' words
                vocabulary = Vocabulary.from_texts(sequences, min_count=self.min_count)
            text = {"vocabulary": vocabulary, "embeddings": self.embeddings}
            dim = self.dim if self.dim is not None else 50
        else:
            dim = sequences[0].shape[1]
            if self.standardize:
                frames = np.concatenate(sequences)
                self.mean_ = frames.mean(axis=0)
                scale = frames.std(axis=0)
                self.scale_ = np.where(scale > 0, scale, 1.0).astype(np.float32)
                sequences = [(s - self.mean_) / self.scale_ for s in sequences]
        labels = None
        self.classes_ = np.array([])
        if self.supervised and y is not None:
            if self.classes is None:
                self.classes_, labels = class_codes(y, len(sequences))
                if len(self.classes_) < 2:
                    raise ValueError(f"y must hold at least 2 classes, got {len(self.classes_)}")
            else:
                labels = y
                self.classes_ = np.arange(self.classes)
        seed = _seed(self.random_state)
        if seed is not None:
            keras.utils.set_random_seed(seed)
        rae = gr.RAE(
            dim,
            pairs=self.pairs,
            activation=self.activation,
            normalize=self.normalize,
            decoder_activation=self.decoder_activation,
            reconstruction=self.reconstruction,
            classes=None if labels is None else len(self.classes_),
            alpha=self.alpha,
            optimizer=keras.optimizers.Adam(self.learning_rate),
            **text,
        )
        rae.fit(
            sequences,
            labels=labels,
            epochs=self.epochs,
            batch_size=self.batch_size,
            verbose=0,
            seed=seed,
        )
        self.rae_ = rae
        self.n_features_out_ = rae.dim * len(self.features.split("+"))
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The features of each sequence, float32 ``(len(X), n_features_out_)``."""
        check_is_fitted(self, "rae_")
        return self.rae_.encode(self._check_X(X, fitted=True), features=self.features)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The feature names: ``root_0``, ..., ``mean_0``, ..., ``leaves_0``, ..."""
        check_is_fitted(self, "rae_")
        names = [f"{part}_{i}" for part in self.features.split("+") for i in range(self.rae_.dim)]
        return np.asarray(names, dtype=object)


class RAEClassifier(_Pickled, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A semi-supervised greedy RAE as a scikit-learn classifier.

    ``fit(X, y)`` trains an :class:`RAEEncoder` with a label head on ``X`` (a
    list of ``(n_i, dim)`` arrays, or texts with ``text=True``) and ``y`` (any
    labels; ``-1`` marks unlabelled sequences when ``y`` is integer), then, as
    Socher et al. did, a logistic regression on the standardised features of
    the labelled sequences (by default the root, the mean of all nodes and the
    mean of the leaves); ``predict`` and ``predict_proba`` use that regression.
    Works in ``Pipeline``, ``cross_val_score`` and ``GridSearchCV``; survives
    ``clone`` and pickling.

    Parameters
    ----------
    dim, pairs, activation, normalize, reconstruction, alpha, epochs,
    batch_size, learning_rate, features, standardize, random_state, text, min_count
        As for :class:`RAEEncoder`, with the same defaults.
    C : float
        The logistic regression's inverse regularisation strength.
    """

    def __init__(
        self,
        dim: int | None = None,
        pairs: str = "adjacent",
        activation: str = "tanh",
        normalize: bool = True,
        reconstruction: str = "weighted",
        alpha: float = 0.2,
        epochs: int = 50,
        batch_size: int = 32,
        learning_rate: float = 0.01,
        features: str = "root+mean+leaves",
        standardize: bool = True,
        C: float = 1.0,
        random_state: int | None = None,
        text: bool = False,
        min_count: int = 1,
    ) -> None:
        self.dim = dim
        self.pairs = pairs
        self.activation = activation
        self.normalize = normalize
        self.reconstruction = reconstruction
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.features = features
        self.standardize = standardize
        self.C = C
        self.random_state = random_state
        self.text = text
        self.min_count = min_count

    def fit(self, X: Any, y: Any) -> RAEClassifier:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if y is None:
            raise ValueError("RAEClassifier needs y: one class label per sequence")
        encoder = RAEEncoder(
            dim=self.dim,
            pairs=self.pairs,
            activation=self.activation,
            normalize=self.normalize,
            reconstruction=self.reconstruction,
            alpha=self.alpha,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            features=self.features,
            standardize=self.standardize,
            random_state=self.random_state,
            text=self.text,
            min_count=self.min_count,
        )
        sequences = encoder._check_X(X, fitted=False)
        self.classes_, codes = class_codes(y, len(sequences))
        if len(self.classes_) < 2:
            raise ValueError(f"y must hold at least 2 classes, got {len(self.classes_)}")
        self.encoder_ = encoder.fit(sequences, codes)
        known = codes >= 0
        features = self.encoder_.transform([s for s, k in zip(sequences, known) if k])
        self.regression_ = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.C, max_iter=5000)
        ).fit(features, codes[known])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        check_is_fitted(self, "regression_")
        proba = self.regression_.predict_proba(self.encoder_.transform(X))
        return np.asarray(proba)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sequence (a value of ``classes_``)."""
        check_is_fitted(self, "regression_")
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])
