"""scikit-learn interface: :class:`RAEEncoder`, a transformer from sequences to features.

Needs scikit-learn (``pip install 'greedy-rae[sklearn]'``).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, TransformerMixin
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
