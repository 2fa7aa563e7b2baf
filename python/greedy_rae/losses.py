"""The loss in TensorFlow: reconstruction errors, the head's cross-entropy and
how a sequence's loss combines them. The graph replay, the TF scorer and
``evaluate`` use these functions. The numpy replay
(:mod:`greedy_rae.replay.numpy_pass`) computes the same formulas a second time,
fused with their gradients; ``tests/test_numpy_pass.py`` pins the loss of both
to a plain reference written from the definitions, and the numpy gradients to
TensorFlow's.

A sequence's loss is ``alpha * root score + (1 - alpha) * sum over its 2n - 1
nodes of the head's error against its label`` (none for an unlabelled
sequence, label -1; ``alpha = 1`` without a head); a minibatch's is the mean
over its sequences, plus the layers' weight regularisers in training. The
head's error is its cross-entropy (the default) or, as in Socher et al.'s
code, the squared error of its probabilities (``head_loss="squared"``); an
inner node's counts ``inner_weight`` times a word's (leaf's), 1 by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

if TYPE_CHECKING:
    import keras

    from greedy_rae.tree import Tree

# Keras' clipping of probabilities in its cross-entropy
EPSILON = 1e-7


def reconstruction_errors(
    c: tf.Tensor, y: tf.Tensor, left_share: tf.Tensor | None, dim: int
) -> tf.Tensor:
    """Per-pair reconstruction errors: plain ``|y - c|^2 / 2`` (``left_share`` None),
    or weighted, the left half's error times ``left_share = n1 / (n1 + n2)`` plus
    the right half's times ``1 - left_share``."""
    square = tf.square(y - c)
    if left_share is None:
        return 0.5 * tf.reduce_sum(square, axis=1)
    e1 = 0.5 * tf.reduce_sum(square[:, :dim], axis=1)
    e2 = 0.5 * tf.reduce_sum(square[:, dim:], axis=1)
    return left_share * e1 + (1.0 - left_share) * e2


def cross_entropy(probs: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Per-node cross-entropy of class probabilities against integer labels;
    a label of -1 (unlabelled) counts nothing."""
    # one_hot of -1 is a row of zeros
    target = tf.one_hot(labels, tf.shape(probs)[1], dtype=probs.dtype)
    return tf.reduce_sum(target * -tf.math.log(tf.clip_by_value(probs, EPSILON, 1.0)), axis=1)


def squared_error(probs: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Per-node ``|onehot(label) - probs|^2 / 2``; a label of -1 counts nothing.
    Socher et al.'s ``forwardPropRAE.m`` puts ``(label - sigmoid)^2 / 2`` on one
    sigmoid unit for two classes: a two-class softmax gives twice that."""
    target = tf.one_hot(labels, tf.shape(probs)[1], dtype=probs.dtype)
    known = tf.cast(labels >= 0, probs.dtype)
    return 0.5 * tf.reduce_sum(tf.square(target - probs), axis=1) * known


def head_errors(probs: tf.Tensor, labels: tf.Tensor, head_loss: str) -> tf.Tensor:
    """Per-node error of the head: its cross-entropy or its squared error."""
    if head_loss == "squared":
        return squared_error(probs, labels)
    return cross_entropy(probs, labels)


def node_weights(rows: int, leaves: int, inner_weight: float) -> np.ndarray:
    """The head's weight of each of a tree's nodes (leaves first): 1 at the
    leaves, ``inner_weight`` at the merges."""
    out = np.full(rows, inner_weight, np.float32)
    out[:leaves] = 1.0
    return out


def combine(score: tf.Tensor, cross_entropy_sum: tf.Tensor, alpha: float) -> tf.Tensor:
    """``alpha * score + (1 - alpha) * cross_entropy_sum``: the loss of a head's RAE."""
    return alpha * score + (1.0 - alpha) * cross_entropy_sum


def tree_losses(
    trees: Sequence[Tree],
    labels: np.ndarray | None,
    classifier: keras.Model | None,
    alpha: float,
    head_loss: str = "cross_entropy",
    inner_weight: float = 1.0,
) -> np.ndarray:
    """Each built tree's loss (float64, without regularisers): its root score,
    or with a head ``combine(root score, its nodes' head errors, alpha)``."""
    scores = np.array([t.score for t in trees], dtype=np.float64)
    if classifier is None:
        return scores
    ce: np.ndarray = np.zeros(len(trees))
    known = [] if labels is None else [k for k in range(len(trees)) if labels[k] >= 0]
    if known:
        assert labels is not None
        nodes = np.concatenate([trees[k].embeddings for k in known])
        owner = np.repeat(known, [len(trees[k].embeddings) for k in known])
        weights = np.concatenate(
            [node_weights(len(trees[k].embeddings), trees[k].n, inner_weight) for k in known]
        )
        probs = classifier(tf.constant(nodes), training=False)
        labels_ = tf.constant(labels[owner], dtype=tf.int32)
        per_node = np.asarray(head_errors(probs, labels_, head_loss), dtype=np.float64) * weights
        ce = np.bincount(owner, per_node, minlength=len(trees))
    return np.asarray(combine(scores, ce, alpha), dtype=np.float64)
