"""Gradients by replay: rebuild only the chosen merges under the tape.

The trees are built without a tape. Their merges are then recomputed level by
level (a merge's level is one more than its deeper child's), each level of all
trees of a minibatch in one network call, inside a ``tf.function`` whose input
signature has no fixed sizes, so new minibatch shapes do not retrace it. The
root score of a tree is the sum of its merges' reconstruction errors, so the
gradient is the same as taping the whole greedy search, without the
discarded candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from greedy_rae import _core
from greedy_rae.tree import Tree


def replay_plan(
    leaves: Sequence[np.ndarray], trees: Sequence[Tree]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat inputs of the replay: leaves, left and right table rows, level sizes.

    The replay table starts as all leaves stacked; the merges of level 1 of
    every tree are appended, then those of level 2, and so on.
    """
    lengths = np.array([len(x) for x in leaves], dtype=np.int64)
    leaf_offset = np.concatenate([[0], np.cumsum(lengths)])
    node_offset = np.concatenate([[0], np.cumsum(2 * lengths - 1)])
    total_leaves, total_nodes = int(leaf_offset[-1]), int(node_offset[-1])
    merges = [t.merges + node_offset[k] for k, t in enumerate(trees)]
    if sum(len(m) for m in merges) == 0:
        empty = np.zeros(0, dtype=np.int32)
        return np.concatenate(leaves), empty, empty, empty
    merges_all = np.concatenate(merges)
    created = np.concatenate([node_offset[k] + n + np.arange(n - 1) for k, n in enumerate(lengths)])
    level = _core.merge_levels(merges_all[:, 0], merges_all[:, 1], created, total_nodes)

    # table row of every node: leaves keep their stacked row, merges are
    # appended level by level
    order = np.argsort(level, kind="stable")
    row = np.empty(total_nodes, dtype=np.int64)
    tree_of_leaf = np.repeat(np.arange(len(lengths)), lengths)
    leaf_local = np.arange(total_leaves) - leaf_offset[tree_of_leaf]
    row[node_offset[tree_of_leaf] + leaf_local] = np.arange(total_leaves)
    row[created[order]] = total_leaves + np.arange(len(order))
    sizes = np.bincount(level, minlength=int(level.max()) + 1)[1:]
    return (
        np.concatenate(leaves),
        row[merges_all[order, 0]].astype(np.int32),
        row[merges_all[order, 1]].astype(np.int32),
        sizes.astype(np.int32),
    )


# Trees up to this depth replay in an unrolled graph, traced once per depth
# bucket (empty levels pad it). Deeper ones use a while loop,
# whose per-iteration overhead is larger but which is traced only once.
_UNROLL = 64


def _bucket(depth: int) -> int:
    # multiples of four: at most three empty levels, at most 16 traces
    return max(4, -(-depth // 4) * 4)


class Replay:
    """Compiled replay of a merge network: loss, gradients, and a training step.

    Parameters
    ----------
    network : keras.Model
    dim : int
    optimizer : keras.optimizers.Optimizer, optional
        Needed by :meth:`train_step`.
    """

    def __init__(
        self, network: keras.Model, dim: int, optimizer: keras.optimizers.Optimizer | None = None
    ) -> None:
        self.network = network
        self.dim = dim
        self.optimizer = optimizer
        self.weights = network.trainable_weights
        self._functions: dict[tuple[int, bool], Any] = {}

    def _loss(
        self, leaves: tf.Tensor, left: tf.Tensor, right: tf.Tensor, sizes: tf.Tensor, depth: int
    ) -> tf.Tensor:
        network = self.network

        def level(
            start: tf.Tensor, size: tf.Tensor, table: tf.Tensor
        ) -> tuple[tf.Tensor, tf.Tensor]:
            stop = start + size
            a = tf.gather(table, left[start:stop])
            b = tf.gather(table, right[start:stop])
            h, c, y = network([a, b], training=True)
            return tf.concat([table, h], axis=0), 0.5 * tf.reduce_sum(tf.square(y - c))

        if depth <= _UNROLL:
            padded = tf.pad(sizes, [[0, depth - tf.size(sizes)]])
            table, total, start = leaves, tf.constant(0.0), tf.constant(0)
            for k in range(depth):
                table, err = level(start, padded[k], table)
                total += err
                start += padded[k]
            return total

        def body(
            k: tf.Tensor, start: tf.Tensor, table: tf.Tensor, total: tf.Tensor
        ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
            table, err = level(start, sizes[k], table)
            return k + 1, start + sizes[k], table, total + err

        _, _, _, total = tf.while_loop(
            lambda k, *_: k < tf.size(sizes),
            body,
            (tf.constant(0), tf.constant(0), leaves, tf.constant(0.0)),
            shape_invariants=(
                tf.TensorShape([]),
                tf.TensorShape([]),
                tf.TensorShape([None, self.dim]),
                tf.TensorShape([]),
            ),
        )
        return total

    def _function(self, depth: int, train: bool) -> Any:
        key = (_bucket(depth) if depth <= _UNROLL else _UNROLL + 1, train)
        fn = self._functions.get(key)
        if fn is not None:
            return fn
        weights = self.weights
        optimizer = self.optimizer

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, self.dim], tf.float32),
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([], tf.float32),
            ]
        )
        def run(
            leaves: tf.Tensor, left: tf.Tensor, right: tf.Tensor, sizes: tf.Tensor, count: tf.Tensor
        ) -> Any:
            with tf.GradientTape() as tape:
                loss = self._loss(leaves, left, right, sizes, key[0]) / count
            grads = tape.gradient(loss, weights)
            grads = [tf.zeros_like(w) if g is None else g for g, w in zip(grads, weights)]
            finite = tf.math.is_finite(loss)
            for g in grads:
                finite = finite & tf.reduce_all(tf.math.is_finite(g))
            if not train:
                return loss, grads, finite

            def apply() -> tf.Tensor:
                optimizer.apply(grads, weights)  # type: ignore[union-attr]
                return tf.constant(True)

            return loss, tf.cond(finite, apply, lambda: tf.constant(False))

        # The concrete function skips matching the arguments to the signature
        # at every call.
        concrete = run.get_concrete_function()
        self._functions[key] = concrete
        return concrete

    def _call(self, plan: tuple[np.ndarray, ...], count: int, train: bool) -> Any:
        leaves, left, right, sizes = plan
        fn = self._function(len(sizes), train)
        return fn(
            tf.constant(leaves),
            tf.constant(left),
            tf.constant(right),
            tf.constant(sizes),
            tf.constant(count, tf.float32),
        )

    def loss_and_gradients(
        self, plan: tuple[np.ndarray, ...], count: int
    ) -> tuple[float, list[tf.Tensor]]:
        """Sum of the root scores over ``count``, and its gradients."""
        loss, grads, finite = self._call(plan, count, train=False)
        if not bool(finite):
            raise FloatingPointError(f"the loss ({float(loss)}) or a gradient is not finite")
        return float(loss), list(grads)

    def train_step(self, plan: tuple[np.ndarray, ...], count: int) -> float:
        """One optimizer step on the plan's loss; returns the loss before the step."""
        if self.optimizer is None:
            raise ValueError("a training step needs an optimizer")
        if not self.optimizer.built:
            self.optimizer.build(self.weights)
        loss, applied = self._call(plan, count, train=True)
        if not bool(applied):
            raise FloatingPointError(
                f"the loss ({float(loss)}) or a gradient is not finite; the update was not applied"
            )
        return float(loss)
