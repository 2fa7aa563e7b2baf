"""scikit-learn interface: :class:`RAEEncoder`, a transformer from sequences to
features, and :class:`RAEClassifier`, a classifier of sequences.

Needs scikit-learn (``pip install 'greedy-rae[sklearn]'``).
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


class RAEEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A greedy RAE as a scikit-learn transformer.

    ``fit(X, y=None)`` trains an :class:`~greedy_rae.RAE` on ``X``, a list of
    ``(n_i, dim)`` arrays; ``transform(X)`` returns their features. With
    ``classes`` set and ``y`` given, training is semi-supervised (labels in
    ``0..classes-1``, -1 for unlabelled); otherwise ``y`` is ignored. Works in
    ``Pipeline``, ``cross_val_score`` and ``GridSearchCV``; survives ``clone``
    and pickling (the trained networks travel inside the pickle).

    Parameters
    ----------
    dim : int, optional
        Width of the leaves; default: that of the first sequence seen by ``fit``.
    pairs, activation, normalize, decoder_activation, reconstruction, classes, alpha
        As for :class:`~greedy_rae.RAE`.
    epochs, batch_size : int
        Training length and minibatch size.
    learning_rate : float
        Adam's learning rate.
    features : {"root", "mean", "root+mean"}
        What ``transform`` returns (see :meth:`RAE.encode`).
    seed : int, optional
        Seed of the initial weights and of the shuffling.
    text : bool
        ``X`` holds texts (strings, token lists or 1-D id arrays): a word table
        is trained with the network (see :class:`~greedy_rae.RAE`); ``dim``
        defaults to 50.
    min_count : int
        With ``text``, words seen fewer times in the training texts are ``<unk>``.
    vocabulary, embeddings : optional
        With ``text``: a vocabulary of your own (default: the training texts'
        words) and the table's start (see :class:`~greedy_rae.RAE`).
    """

    def __init__(
        self,
        dim: int | None = None,
        pairs: str = "all",
        activation: str = "linear",
        normalize: bool = False,
        decoder_activation: str = "linear",
        reconstruction: str = "plain",
        classes: int | None = None,
        alpha: float = 0.2,
        epochs: int = 10,
        batch_size: int = 32,
        learning_rate: float = 0.001,
        features: str = "root",
        seed: int | None = None,
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
        self.classes = classes
        self.alpha = alpha
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.features = features
        self.seed = seed
        self.text = text
        self.min_count = min_count
        self.vocabulary = vocabulary
        self.embeddings = embeddings

    def fit(self, X: Any, y: Any = None) -> RAEEncoder:
        import keras

        sequences = list(X)
        if not sequences:
            raise ValueError("X is empty: give at least one (n, dim) sequence")
        text: dict[str, Any] = {}
        if self.text:
            from greedy_rae.text import Vocabulary

            vocabulary = self.vocabulary
            if vocabulary is None:  # the training texts' words
                vocabulary = Vocabulary.from_texts(sequences, min_count=self.min_count)
            text = {"vocabulary": vocabulary, "embeddings": self.embeddings}
            dim = self.dim if self.dim is not None else 50
        else:
            dim = self.dim if self.dim is not None else int(np.shape(sequences[0])[1])
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        rae = gr.RAE(
            dim,
            pairs=self.pairs,
            activation=self.activation,
            normalize=self.normalize,
            decoder_activation=self.decoder_activation,
            reconstruction=self.reconstruction,
            classes=self.classes,
            alpha=self.alpha,
            optimizer=keras.optimizers.Adam(self.learning_rate),
            **text,
        )
        labels = None if self.classes is None or y is None else y
        rae.fit(
            sequences,
            labels=labels,
            epochs=self.epochs,
            batch_size=self.batch_size,
            verbose=0,
            seed=self.seed,
        )
        self.rae_ = rae
        self.n_features_out_ = rae.encode(sequences[:1], features=self.features).shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "rae_")
        return self.rae_.encode(list(X), features=self.features)

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
        self.__dict__.update(state)
        if data is not None:
            fd, path = tempfile.mkstemp(suffix=".keras", prefix="greedy-rae-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                self.rae_ = gr.RAE.load(path)
            finally:
                os.remove(path)


class RAEClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A semi-supervised greedy RAE as a scikit-learn classifier.

    ``fit(X, y)`` trains an :class:`RAEEncoder` with a label head on ``X`` (a
    list of ``(n_i, dim)`` arrays, or texts with ``text=True``) and ``y`` (any
    labels; ``-1`` marks unlabelled sequences when ``y`` is integer), then, as
    Socher et al. did, a logistic regression on the standardised root and mean
    features of the labelled sequences; ``predict`` and ``predict_proba`` use
    that regression. Works in ``Pipeline``, ``cross_val_score`` and
    ``GridSearchCV``; survives ``clone`` and pickling.

    Parameters
    ----------
    epochs, batch_size, learning_rate, alpha, pairs, activation, normalize,
    reconstruction, dim, seed, text, min_count
        As for :class:`RAEEncoder`; the defaults are Socher et al.'s network
        (tanh, unit-length parents, weighted reconstruction, adjacent pairs).
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
        alpha: float = 0.1,
        epochs: int = 50,
        batch_size: int = 32,
        learning_rate: float = 0.01,
        C: float = 1.0,
        seed: int | None = None,
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
        self.C = C
        self.seed = seed
        self.text = text
        self.min_count = min_count

    def fit(self, X: Any, y: Any) -> RAEClassifier:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        sequences = list(X)
        y = np.asarray(y)
        if len(y) != len(sequences):
            raise ValueError(f"y has {len(y)} labels but X has {len(sequences)} sequences")
        known = np.ones(len(y), dtype=bool)
        if np.issubdtype(y.dtype, np.integer):
            known = y != -1  # -1: unlabelled, as for the RAE
        self.classes_, codes = np.unique(y[known], return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y must hold at least 2 classes, got {len(self.classes_)}")
        labels = np.full(len(y), -1, dtype=np.int64)
        labels[known] = codes
        self.encoder_ = RAEEncoder(
            dim=self.dim,
            pairs=self.pairs,
            activation=self.activation,
            normalize=self.normalize,
            reconstruction=self.reconstruction,
            classes=len(self.classes_),
            alpha=self.alpha,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            features="root+mean",
            seed=self.seed,
            text=self.text,
            min_count=self.min_count,
        ).fit(sequences, labels)
        features = self.encoder_.transform([s for s, k in zip(sequences, known) if k])
        self.regression_ = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.C, max_iter=2000)
        ).fit(features, codes)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        check_is_fitted(self, "regression_")
        proba = self.regression_.predict_proba(self.encoder_.transform(list(X)))
        return np.asarray(proba)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sequence (a value of ``classes_``)."""
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])
