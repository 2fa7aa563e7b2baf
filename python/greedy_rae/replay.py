"""Gradients by replay: recompute only the chosen merges under the tape.

The trees are built without a tape, and the build hands over every node's
embedding. The gradient pass then goes through the merges level by level (a
merge's level is one more than its deeper child's), from the roots' level back
to the leaves', each level of all trees of a minibatch in one network call
under its own ``tf.GradientTape``. A level's children are read from the built
embeddings, so the levels do not wait on each other's forward pass; each level's
tape gives the gradient of its own errors, plus that of the embeddings it made
(passed down from the levels above) carried back into its weights and its
children. Summed over the levels, that is the chain rule over the whole tree:
the gradient of taping the whole greedy search with the trees held fixed,
without the discarded candidates. It runs inside a ``tf.function`` whose input
signature has no fixed sizes, so new minibatch shapes do not retrace it. With a
label head, the head is applied to every node (leaves and merges) and its
cross-entropy added.
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

    The table holds every leaf of the minibatch (its sequences stacked in
    order), then the merges of level 1 of every tree, then those of level 2,
    and so on.
    """

    table: np.ndarray  # (leaves + merges, dim) float32: every node's embedding, table order
    left: np.ndarray  # (merges,) int32: table row of each merge's left child, table order
    right: np.ndarray  # (merges,) int32
    sizes: np.ndarray  # (depth,) int32: merges per level
    left_share: np.ndarray  # (merges,) float32: n1 / (n1 + n2) (weighted error), else empty
    row_tree: np.ndarray  # (table rows,) int32: the sequence each table row belongs to
    # (merges,) int32: where the gradient pass finds the gradient that each
    # merge's parent passes down to it (0 for a root). The pass keeps a table
    # that starts with a zero row; each level, from the last back to the
    # first, appends the gradients of its left children, then of its right ones.
    parent: np.ndarray


def empty_plan(dim: int) -> Plan:
    """The plan of no sequences (a replica whose share of a minibatch is empty)."""
    ints = np.zeros(0, dtype=np.int32)
    return Plan(
        np.zeros((0, dim), np.float32), ints, ints, ints, np.zeros(0, np.float32), ints, ints
    )


def replay_plan(
    leaves: Sequence[np.ndarray], trees: Sequence[Tree], weighted: bool = False
) -> Plan:
    """The replay's inputs for the trees of a minibatch (their embeddings included)."""
    left, right, sizes, share, row_tree, parent, source = _core.replay_plan(
        [t.merges for t in trees], weighted
    )
    merged = np.concatenate([t.embeddings[t.n :] for t in trees])
    table = np.concatenate([*leaves, merged[source]]).astype(np.float32, copy=False)
    return Plan(table, left, right, sizes, share, row_tree, parent)


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
    *plan, roots, root_nodes = _core.build_native_plan(
        leaves, *spec.core_args(), reconstruction, pairs, threads
    )
    # as build_trees: the roots' scores and embeddings cover every node
    check_finite(roots, "scores")
    check_finite(root_nodes, "embeddings")
    return Plan(*plan)


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

    def _sum_and_gradients(
        self,
        table: tf.Tensor,
        left: tf.Tensor,
        right: tf.Tensor,
        sizes: tf.Tensor,
        share: tf.Tensor,
        row_labels: tf.Tensor,
        parent: tf.Tensor,
        depth: int,
    ) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """Sum over the minibatch of ``alpha * errors + (1 - alpha) * cross-entropy``,
        and its gradients (aligned with ``self.weights``), the trees held fixed.

        ``depth``: levels to unroll (empty ones pad), or past ``_UNROLL`` a
        while loop over however many the plan has.
        """
        network, dim, weighted, weights = self.network, self.dim, self.weighted, self.weights
        alpha, head = self.alpha, self.classifier is not None
        n_leaves = tf.shape(table)[0] - tf.shape(left)[0]
        if depth <= _UNROLL:
            # empty padding levels go last, so the pass starts with them
            sizes = tf.pad(sizes, [[0, depth - tf.size(sizes)]])
        ends = tf.cumsum(sizes)

        def level(
            k: tf.Tensor, passed: tf.Tensor, grads: list[tf.Tensor], total: tf.Tensor
        ) -> tuple[tf.Tensor, list[tf.Tensor], tf.Tensor]:
            # passed: the child-gradient table so far (see Plan.parent)
            stop = ends[k]
            start = stop - sizes[k]
            a = tf.gather(table, left[start:stop])
            b = tf.gather(table, right[start:stop])
            with tf.GradientTape() as tape:
                tape.watch([a, b])
                h, c, y = network([a, b], training=True)
                err = reconstruction_errors(c, y, share[start:stop] if weighted else None, dim)
                part = alpha * tf.reduce_sum(err)
                if head:
                    labels = row_labels[n_leaves + start : n_leaves + stop]
                    part += (1.0 - alpha) * self._cross_entropy(h, labels)
            # this level's errors, plus the gradient its parents passed down to h
            # carried back through the merge network
            from_above = tf.gather(passed, parent[start:stop])
            got = tape.gradient(
                [part, h], [*weights, a, b], output_gradients=[tf.ones_like(part), from_above]
            )
            grads = [g if d is None else g + d for g, d in zip(grads, got[:-2])]
            to_children = [tf.zeros_like(a) if d is None else d for d in got[-2:]]
            return tf.concat([passed, *to_children], axis=0), grads, total + part

        grads = [tf.zeros_like(w) for w in weights]
        total = tf.constant(0.0)
        if head:
            # the leaves' cross-entropy reaches only the head's weights
            with tf.GradientTape() as tape:
                total = (1.0 - alpha) * self._cross_entropy(table[:n_leaves], row_labels[:n_leaves])
            got = tape.gradient(total, weights)
            grads = [g if d is None else g + d for g, d in zip(grads, got)]
        passed = tf.zeros([1, dim], tf.float32)
        if depth <= _UNROLL:
            for k in reversed(range(depth)):
                passed, grads, total = level(tf.constant(k), passed, grads, total)
            return total, grads

        def body(
            k: tf.Tensor, passed: tf.Tensor, total: tf.Tensor, *grads: tf.Tensor
        ) -> tuple[tf.Tensor, ...]:
            passed, new_grads, total = level(k, passed, list(grads), total)
            return (k - 1, passed, total, *new_grads)

        out = tf.while_loop(
            lambda k, *_: k >= 0,
            body,
            (tf.size(sizes) - 1, passed, total, *grads),
            shape_invariants=(
                tf.TensorShape([]),
                tf.TensorShape([None, dim]),
                tf.TensorShape([]),
                *(w.shape for w in weights),
            ),
        )
        return out[2], list(out[3:])

    def _loss_and_gradients(
        self, plan: tuple[tf.Tensor, ...], count: tf.Tensor, depth: int, replicas: int = 1
    ) -> tuple[tf.Tensor, list[tf.Tensor]]:
        table, left, right, sizes, share, row_labels, parent = plan
        total, grads = self._sum_and_gradients(
            table, left, right, sizes, share, row_labels, parent, depth
        )
        loss = total / count
        grads = [g / count for g in grads]
        with tf.GradientTape() as tape:
            penalty = tf.constant(0.0)
            for w in self.weights:
                if getattr(w, "regularizer", None) is not None:
                    # each replica adds its share: summed over replicas, it counts once
                    penalty += w.regularizer(w) / replicas
        got = tape.gradient(penalty, self.weights)
        grads = [g if d is None else g + d for g, d in zip(grads, got)]
        return loss + penalty, grads

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
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([], tf.float32),
            ]
        )
        def run(
            table: tf.Tensor,
            left: tf.Tensor,
            right: tf.Tensor,
            sizes: tf.Tensor,
            share: tf.Tensor,
            row_labels: tf.Tensor,
            parent: tf.Tensor,
            count: tf.Tensor,
        ) -> Any:
            plan = (table, left, right, sizes, share, row_labels, parent)
            loss, grads = self._loss_and_gradients(plan, count, key[0])
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
            plan.table,
            plan.left,
            plan.right,
            plan.sizes,
            plan.left_share,
            row_labels,
            plan.parent,
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
            loss, grads = self._loss_and_gradients(args[:7], args[7], depth, replicas)
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
            for k in range(8)
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
