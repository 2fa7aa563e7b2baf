"""The label head: a softmax layer on node embeddings (Socher et al. 2011)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf


def default_classifier(dim: int, classes: int, kernel_regularizer: Any = None) -> keras.Model:
    """``Dense(classes, softmax)`` from a ``(batch, dim)`` node embedding."""
    x = keras.Input(shape=(dim,), name="node")
    p = keras.layers.Dense(
        classes, activation="softmax", name="label", kernel_regularizer=kernel_regularizer
    )(x)
    return keras.Model(x, p, name="classifier")


def probabilities(classifier: keras.Model, nodes: np.ndarray) -> np.ndarray:
    """The head's class probabilities of node embeddings, float32 ``(N, classes)``."""
    return np.asarray(classifier(tf.constant(nodes), training=False), dtype=np.float32)


def accuracy(classifier: keras.Model, roots: np.ndarray, labels: np.ndarray) -> float:
    """The accuracy of the head at the roots over the labelled sequences (label >= 0)."""
    known = labels >= 0
    if not known.any():
        return float("nan")
    pred = np.argmax(probabilities(classifier, roots[known]), axis=1)
    return float(np.mean(pred == labels[known]))
