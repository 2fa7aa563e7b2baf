"""Gradients by replay: rebuild only the chosen merges under the tape.

The trees are built without a tape. Their merges are then recomputed level by
level (a merge's level is one more than its deeper child's), each level of all
trees of a minibatch in one network call, inside a ``tf.function`` whose input
signature has no fixed sizes, so new minibatch shapes do not retrace it. The
root score of a tree is the sum of its merges' reconstruction errors, so the
gradient is the same as taping the whole greedy search, without the
discarded candidates. With a label head, the head is applied to every node of
the replayed table (leaves and merges) and its cross-entropy added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from greedy_rae import _core
from greedy_rae.builder import check_finite, check_memory, reconstruction_errors
from greedy_rae.network import NativeSpec
from greedy_rae.tree import Tree


class Plan(NamedTuple):
    """Flat inputs of the replay.

    The replay table starts as all leaves stacked; the merges of level 1 of
    every tree are appended, then those of level 2, and so on.
    """

    leaves: np.ndarray  # (total leaves, dim) float32
    left: np.ndarray  # (merges,) int32: table row of each merge's left child, level order
    right: np.ndarray  # (merges,) int32
    sizes: np.ndarray  # (depth,) int32: merges per level
    left_share: np.ndarray  # (merges,) float32: n1 / (n1 + n2) (weighted error), else empty
    row_tree: np.ndarray  # (table rows,) int32: the sequence each table row belongs to


def empty_plan(dim: int) -> Plan:
    """The plan of no sequences (a replica whose share of a minibatch is empty)."""
    ints = np.zeros(0, dtype=np.int32)
    return Plan(np.zeros((0, dim), np.float32), ints, ints, ints, np.zeros(0, np.float32), ints)


def replay_plan(
    leaves: Sequence[np.ndarray], trees: Sequence[Tree], weighted: bool = False
) -> Plan:
    """The replay's inputs for the trees of a minibatch."""
    left, right, sizes, share, row_tree = _core.replay_plan([t.merges for t in trees], weighted)
    return Plan(np.concatenate(leaves), left, right, sizes, share, row_tree)


def native_plan(
    leaves: list[np.ndarray],
    spec: NativeSpec,
    pairs: str,
    reconstruction: str,
    threads: int = 0,
) -> Plan:
    """The replay's inputs for checked sequences, their trees built natively.

    The trees are the ones :func:`~greedy_rae.builder.build_trees` gives; the
    core hands back only their plan, not the trees.
    """
    kind = "linear" if spec.linear else "nonlinear"
    check_memory([len(x) for x in leaves], leaves[0].shape[1], kind, pairs)
    table, left, right, sizes, share, row_tree, roots, root_nodes = _core.build_native_plan(
        leaves,
        *spec.weights(),
        spec.activation,
        spec.normalize,
        spec.decoder_activation,
        reconstruction,
        pairs,
        threads,
    )
    # as build_trees: the roots' scores and embeddings cover every node
    check_finite(roots, "scores")
    check_finite(root_nodes, "embeddings")
    return Plan(table, left, right, sizes, share, row_tree)


# Trees up to this depth replay in an unrolled graph, traced once per depth
# bucket (empty levels pad it). Deeper ones use a while loop,
# whose per-iteration overhead is larger but which is traced only once.
_UNROLL = 64

# Keras' clipping of probabilities in its cross-entropy
_EPSILON = 1e-7


def _bucket(depth: int) -> int:
    # Each empty level still runs its ops (about 0.3 ms a minibatch level
    # on a CPU): the usual shallow depths get a trace each, deeper ones
    # multiples of four (at most three empty levels); at most 22 traces.
    return max(1, depth) if depth <= 8 else -(-depth // 4) * 4


class Replay:
    """Compiled replay of a merge network: loss, gradients, and a training step.

    The loss of a minibatch is the sum over its sequences of ``alpha * root
    score + (1 - alpha) * sum over every node of the head's cross-entropy`` (the
    cross-entropy only for labelled sequences; ``alpha = 1`` without a head),
    divided by the number of sequences, plus the layers' weight regularisers.

    Parameters
    ----------
    network : keras.Model
    dim : int
    optimizer : keras.optimizers.Optimizer, optional
        Needed by :meth:`train_step`.
    weighted : bool
        Weighted reconstruction errors (the plan's ``left_share``).
    classifier : keras.Model, optional
        Label head from a node embedding to class probabilities.
    alpha : float
        Weight of the reconstruction against the head's cross-entropy.
    """

    def __init__(
        self,
        network: keras.Model,
        dim: int,
        optimizer: keras.optimizers.Optimizer | None = None,
        *,
        weighted: bool = False,
        classifier: keras.Model | None = None,
        alpha: float = 1.0,
    ) -> None:
        self.network = network
        self.dim = dim
        self.optimizer = optimizer
        self.weighted = weighted
        self.classifier = classifier
        self.alpha = float(alpha) if classifier is not None else 1.0
        self.weights = list(network.trainable_weights)
        if classifier is not None:
            self.weights += list(classifier.trainable_weights)
        self._functions: dict[tuple[int, bool], Any] = {}
        self._strategy_functions: dict[tuple[int, bool, int], Any] = {}

    def _cross_entropy(self, nodes: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """Sum of the head's cross-entropy over nodes; label -1 counts nothing."""
        assert self.classifier is not None
        probs = self.classifier(nodes, training=True)
        # one_hot of -1 (unlabelled) is a row of zeros
        target = tf.one_hot(labels, tf.shape(probs)[1], dtype=probs.dtype)
        return tf.reduce_sum(target * -tf.math.log(tf.clip_by_value(probs, _EPSILON, 1.0)))

    def _sum(
        self,
        leaves: tf.Tensor,
        left: tf.Tensor,
        right: tf.Tensor,
        sizes: tf.Tensor,
        share: tf.Tensor,
        row_labels: tf.Tensor,
        depth: int,
    ) -> tf.Tensor:
        """Sum over the minibatch of ``alpha * errors + (1 - alpha) * cross-entropy``.

        The head sees each level's new nodes as they are made (and the leaves
        once), so that no gradient has to flow back through the growing table.
        """
        network, dim, weighted = self.network, self.dim, self.weighted
        alpha, head = self.alpha, self.classifier is not None
        n_leaves = tf.shape(leaves)[0]

        def level(
            start: tf.Tensor, size: tf.Tensor, table: tf.Tensor
        ) -> tuple[tf.Tensor, tf.Tensor]:
            stop = start + size
            a = tf.gather(table, left[start:stop])
            b = tf.gather(table, right[start:stop])
            h, c, y = network([a, b], training=True)
            err = reconstruction_errors(c, y, share[start:stop] if weighted else None, dim)
            part = alpha * tf.reduce_sum(err)
            if head:
                labels = row_labels[n_leaves + start : n_leaves + stop]
                part += (1.0 - alpha) * self._cross_entropy(h, labels)
            return tf.concat([table, h], axis=0), part

        total = tf.constant(0.0)
        if head:
            total += (1.0 - alpha) * self._cross_entropy(leaves, row_labels[:n_leaves])
        if depth <= _UNROLL:
            padded = tf.pad(sizes, [[0, depth - tf.size(sizes)]])
            table, start = leaves, tf.constant(0)
            for k in range(depth):
                table, part = level(start, padded[k], table)
                total += part
                start += padded[k]
            return total

        def body(
            k: tf.Tensor, start: tf.Tensor, table: tf.Tensor, total: tf.Tensor
        ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
            table, part = level(start, sizes[k], table)
            return k + 1, start + sizes[k], table, total + part

        _, _, _, total = tf.while_loop(
            lambda k, *_: k < tf.size(sizes),
            body,
            (tf.constant(0), tf.constant(0), leaves, total),
            shape_invariants=(
                tf.TensorShape([]),
                tf.TensorShape([]),
                tf.TensorShape([None, self.dim]),
                tf.TensorShape([]),
            ),
        )
        return total

    def _loss(
        self, plan: tuple[tf.Tensor, ...], count: tf.Tensor, depth: int, replicas: int = 1
    ) -> tf.Tensor:
        leaves, left, right, sizes, share, row_labels = plan
        loss = self._sum(leaves, left, right, sizes, share, row_labels, depth) / count
        for w in self.weights:
            if getattr(w, "regularizer", None) is not None:
                # each replica adds its share: summed over replicas, it counts once
                loss += w.regularizer(w) / replicas
        return loss

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
                tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([], tf.float32),
            ]
        )
        def run(
            leaves: tf.Tensor,
            left: tf.Tensor,
            right: tf.Tensor,
            sizes: tf.Tensor,
            share: tf.Tensor,
            row_labels: tf.Tensor,
            count: tf.Tensor,
        ) -> Any:
            with tf.GradientTape() as tape:
                loss = self._loss((leaves, left, right, sizes, share, row_labels), count, key[0])
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

    def _inputs(self, plan: Plan, labels: np.ndarray | None, count: int) -> tuple[Any, ...]:
        """The function's arguments for a plan (``count``: the minibatch's sequences)."""
        if self.classifier is not None and labels is not None:
            row_labels = np.asarray(labels, dtype=np.int32)[plan.row_tree]
        else:
            row_labels = np.zeros(0, dtype=np.int32)
            if self.classifier is not None:
                row_labels = np.full(len(plan.row_tree), -1, dtype=np.int32)
        return (
            plan.leaves,
            plan.left,
            plan.right,
            plan.sizes,
            plan.left_share,
            row_labels,
            np.float32(count),
        )

    def _call(self, plan: Plan, labels: np.ndarray | None, train: bool) -> Any:
        fn = self._function(len(plan.sizes), train)
        count = int(plan.row_tree.max()) + 1 if len(plan.row_tree) else 1
        return fn(*(tf.constant(a) for a in self._inputs(plan, labels, count)))

    # -- data-parallel ---------------------------------------------------------

    def _strategy_function(self, strategy: Any, train: bool, depth: int) -> Any:
        key = (id(strategy), train, depth)
        fn = self._strategy_functions.get(key)
        if fn is not None:
            return fn
        weights, optimizer = self.weights, self.optimizer
        replicas = strategy.num_replicas_in_sync

        def step(*args: tf.Tensor) -> Any:
            with tf.GradientTape() as tape:
                loss = self._loss(args[:6], args[6], depth, replicas)
            grads = tape.gradient(loss, weights)
            grads = [tf.zeros_like(w) if g is None else g for g, w in zip(grads, weights)]
            finite = tf.math.is_finite(loss)
            for g in grads:
                finite = finite & tf.reduce_all(tf.math.is_finite(g))
            bad = 1.0 - tf.cast(finite, tf.float32)
            if train:
                optimizer.apply(grads, weights)  # type: ignore[union-attr]  # sums over replicas
                return loss, bad
            ctx = tf.distribute.get_replica_context()
            return (loss, bad, *ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads))

        @tf.function(reduce_retracing=True)
        def run(args: tuple[Any, ...]) -> Any:
            out = strategy.run(step, args=args)
            loss = strategy.reduce(tf.distribute.ReduceOp.SUM, out[0], axis=None)
            bad = strategy.reduce(tf.distribute.ReduceOp.SUM, out[1], axis=None)
            grads = [strategy.experimental_local_results(g)[0] for g in out[2:]]
            return loss, bad, grads

        self._strategy_functions[key] = run
        return run

    def distributed(
        self,
        strategy: Any,
        share: Any,
        count: int,
        train: bool,
        local: bool = True,
    ) -> tuple[float, list[tf.Tensor]]:
        """One data-parallel loss (and step, with ``train``) over a global minibatch.

        ``share(replica)`` gives the ``(plan, labels)`` of that replica's part;
        it is called only for this worker's replicas. The loss of every replica
        is divided by ``count``, the global minibatch's size, so the summed
        gradients are those of one device on the whole minibatch. A step whose
        loss or gradients are not finite is undone and raises. ``local``: every
        replica is in this process, so the replay can be unrolled to the
        deepest share's depth; across workers, whose graphs (and collectives)
        must match without knowing each other's trees, it is a while loop.
        """
        cache: dict[int, tuple[Any, ...]] = {}

        def inputs(ctx: Any) -> tuple[Any, ...]:
            r = ctx.replica_id_in_sync_group
            if r not in cache:
                plan, labels = share(r)
                cache[r] = self._inputs(plan, labels, count)
            return cache[r]

        args = tuple(
            strategy.experimental_distribute_values_from_function(
                lambda ctx, k=k: tf.constant(inputs(ctx)[k])
            )
            for k in range(7)
        )
        depth = _UNROLL + 1
        if local:
            deepest = max((len(a[3]) for a in cache.values()), default=0)
            depth = _bucket(deepest) if deepest <= _UNROLL else _UNROLL + 1
        if train:
            if self.optimizer is None:
                raise ValueError("a training step needs an optimizer")
            saved = [v.numpy() for v in self.weights] + [
                v.numpy() for v in self.optimizer.variables
            ]
        loss, bad, grads = self._strategy_function(strategy, train, depth)(args)
        if float(bad) > 0:
            if train:
                for v, a in zip(self.weights + list(self.optimizer.variables), saved):  # type: ignore[union-attr]
                    v.assign(a)
            raise FloatingPointError(
                f"the loss ({float(loss)}) or a gradient is not finite"
                + ("; the update was not applied" if train else "")
            )
        return float(loss), list(grads)

    def loss_and_gradients(
        self, plan: Plan, labels: np.ndarray | None = None
    ) -> tuple[float, list[tf.Tensor]]:
        """The plan's loss and its gradients (aligned with ``self.weights``)."""
        loss, grads, finite = self._call(plan, labels, train=False)
        if not bool(finite):
            raise FloatingPointError(f"the loss ({float(loss)}) or a gradient is not finite")
        return float(loss), list(grads)

    def train_step(self, plan: Plan, labels: np.ndarray | None = None) -> float:
        """One optimizer step on the plan's loss; returns the loss before the step."""
        if self.optimizer is None:
            raise ValueError("a training step needs an optimizer")
        if not self.optimizer.built:
            self.optimizer.build(self.weights)
        loss, applied = self._call(plan, labels, train=True)
        if not bool(applied):
            raise FloatingPointError(
                f"the loss ({float(loss)}) or a gradient is not finite; the update was not applied"
            )
        return float(loss)
