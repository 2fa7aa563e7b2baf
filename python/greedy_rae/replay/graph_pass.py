"""The gradient pass: the chosen merges recomputed under the tape, by level.

The trees are built without a tape, and the build hands over every node's
embedding (the plan's table). The gradient pass then goes through the merges
level by level (a merge's level is one more than its deeper child's), from
the roots' level back to the leaves', each level of all trees of a minibatch
in one network call under its own ``tf.GradientTape``. A level's children are
read from the built embeddings, so the levels do not wait on each other's
forward pass; each level's tape gives the gradient of its own errors, plus
that of the embeddings it made (passed down from the levels above) carried
back into its weights and its children. Summed over the levels, that is the
chain rule over the whole tree: the gradient of taping the whole greedy search
with the trees held fixed, without the discarded candidates. With a label
head, the head is applied to every node (leaves and merges) and its
error added (see :mod:`greedy_rae.losses`): in one call over all the
plan's nodes, whose gradient at each merge joins what its parent passes down.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import keras
import tensorflow as tf

from greedy_rae.build.plan import Plan
from greedy_rae.losses import head_errors, reconstruction_errors

# Trees up to this depth replay in an unrolled graph, traced once per depth
# bucket (empty levels pad it). Deeper ones use a while loop, whose
# per-iteration overhead is larger but which is traced only once.
UNROLL = 64


def bucket(depth: int) -> int:
    """The traced depth that serves a plan of ``depth`` levels (past UNROLL: the loop)."""
    if depth > UNROLL:
        return UNROLL + 1
    # Each empty level still runs its ops (about 0.3 ms a minibatch level
    # on a CPU): the usual shallow depths get a trace each, deeper ones
    # multiples of four (at most three empty levels); at most 22 traces.
    return max(1, depth) if depth <= 8 else -(-depth // 4) * 4


def plan_signature(dim: int) -> Plan:
    """The compiled step's input signature for a plan: no fixed sizes."""
    ints = tf.TensorSpec([None], tf.int32)
    return Plan(
        nodes=tf.TensorSpec([None, dim], tf.float32),
        left=ints,
        right=ints,
        sizes=ints,
        left_share=tf.TensorSpec([None], tf.float32),
        row_tree=ints,
        parent=ints,
        leaf_parent=ints,
    )


class Gradients(NamedTuple):
    """What the pass gives a plan: the loss (divided by the minibatch's
    sequences, plus the regularisers) and its gradients, all finite or not."""

    loss: tf.Tensor
    weights: list[tf.Tensor]  # aligned with GradientPass.weights
    leaves: tf.Tensor | None  # (leaves, dim): each leaf's gradient (None unless asked for)
    finite: tf.Tensor


class GradientPass:
    """Loss and gradients of a plan under a merge network (and head), as graph code.

    The sum over a plan's sequences of ``alpha * root score + (1 - alpha) *
    sum over every node of the head's error`` (the error only
    for labelled sequences; ``alpha = 1`` without a head).
    """

    def __init__(
        self,
        network: keras.Model,
        dim: int,
        *,
        weighted: bool,
        classifier: keras.Model | None,
        alpha: float,
        leaf_gradients: bool = False,
        head_loss: str = "cross_entropy",
        inner_weight: float = 1.0,
    ) -> None:
        self.network = network
        # the head's error at each node (losses.head_errors), and an inner node's
        # weight against a leaf's
        self.head_loss = head_loss
        self.inner_weight = float(inner_weight)
        # each leaf's gradient too (the rows of a trainable embedding table)
        self.leaf_gradients = leaf_gradients
        self.dim = dim
        self.weighted = weighted
        self.classifier = classifier
        self.alpha = float(alpha) if classifier is not None else 1.0
        self.weights: list[Any] = list(network.trainable_weights)
        if classifier is not None:
            self.weights += list(classifier.trainable_weights)
        # the non-trainable weights, network's then head's (stateless_call's second list)
        self.fixed: list[Any] = list(network.non_trainable_weights)
        if classifier is not None:
            self.fixed += list(classifier.non_trainable_weights)
        # each weight's regularizer (None: none), aligned with the weights
        self.regularizers = [getattr(w, "regularizer", None) for w in self.weights]
        self._merge: Callable[[list[tf.Tensor]], Any] = lambda ab: network(ab, training=True)
        self._classify: Callable[[tf.Tensor], Any] = lambda x: (
            None if classifier is None else classifier(x, training=True)
        )
        self._watch = False  # weights are tensors to watch, not variables

    def with_values(self, values: list[tf.Tensor], fixed: list[tf.Tensor]) -> GradientPass:
        """The same pass computed with ``values`` in place of the trainable
        weights (aligned with :attr:`weights`) and ``fixed`` in place of
        :attr:`fixed`, the non-trainable ones (``stateless_call``): the
        gradients are those of ``values``. A compiled step that takes the
        weights as arguments serves every RAE of one configuration."""
        out = copy.copy(self)
        n = len(self.network.trainable_weights)
        m = len(self.network.non_trainable_weights)
        network, classifier = self.network, self.classifier
        out._merge = lambda ab: network.stateless_call(values[:n], fixed[:m], ab, training=True)[0]
        if classifier is not None:
            out._classify = lambda x: classifier.stateless_call(
                values[n:], fixed[m:], x, training=True
            )[0]
        out.weights = list(values)
        out._watch = True
        return out

    @contextlib.contextmanager
    def _tape(self) -> Iterator[tf.GradientTape]:
        """A gradient tape that also watches the weights when they are tensors."""
        with tf.GradientTape() as tape:
            if self._watch:
                tape.watch(self.weights)
            yield tape

    def _head_loss(self, nodes: tf.Tensor, labels: tf.Tensor, n_leaves: tf.Tensor) -> tf.Tensor:
        """The head's summed errors over a plan's nodes (its leaves first)."""
        assert self.classifier is not None
        errors = head_errors(self._classify(nodes), labels, self.head_loss)
        if self.inner_weight != 1.0:
            inner = tf.range(tf.shape(errors)[0]) >= n_leaves
            errors *= tf.where(inner, self.inner_weight, 1.0)
        return tf.reduce_sum(errors)

    def sum_and_gradients(
        self, plan: Plan, row_labels: tf.Tensor, depth: int
    ) -> tuple[tf.Tensor, list[tf.Tensor], tf.Tensor | None]:
        """The plan's summed loss, its gradients (aligned with ``self.weights``)
        and, with ``leaf_gradients``, each leaf's, the trees held fixed.
        ``depth``: levels to unroll (empty ones pad), or past ``UNROLL`` a while
        loop over however many the plan has."""
        merge, dim, weights, alpha = self._merge, self.dim, self.weights, self.alpha
        head = self.classifier is not None
        table = plan.nodes
        n_leaves = tf.shape(table)[0] - tf.shape(plan.left)[0]
        sizes = plan.sizes
        if depth <= UNROLL:
            # empty padding levels go last, so the pass starts with them
            sizes = tf.pad(sizes, [[0, depth - tf.size(sizes)]])
        ends = tf.cumsum(sizes)

        grads = [tf.zeros_like(w) for w in weights]
        total = tf.constant(0.0)
        own: tf.Tensor | None = None  # each node's own head-error gradient
        if head:
            # the head on every node (leaves and merges) at once, at the built
            # embeddings: its error reaches the head's weights here, and
            # each node through its gradient, which the levels add to what the
            # parents pass down (and, for an embedding table, the leaves get)
            with self._tape() as tape:
                tape.watch(table)
                total = (1.0 - alpha) * self._head_loss(table, row_labels, n_leaves)
            got = tape.gradient(total, [*weights, table])
            grads = [g if d is None else g + d for g, d in zip(grads, got[: len(weights)])]
            own = got[-1]

        def level(
            k: tf.Tensor, passed: tf.Tensor, grads: list[tf.Tensor], total: tf.Tensor
        ) -> tuple[tf.Tensor, list[tf.Tensor], tf.Tensor]:
            # passed: the child-gradient table so far (see Plan.parent)
            stop = ends[k]
            start = stop - sizes[k]
            a = tf.gather(table, plan.left[start:stop])
            b = tf.gather(table, plan.right[start:stop])
            with self._tape() as tape:
                tape.watch([a, b])
                h, c, y = merge([a, b])
                share = plan.left_share[start:stop] if self.weighted else None
                part = alpha * tf.reduce_sum(reconstruction_errors(c, y, share, dim))
            # this level's errors, plus the gradient its parents passed down to h
            # (and, with a head, its own error's) carried back through
            # the merge network
            from_above = tf.gather(passed, plan.parent[start:stop])
            if own is not None:
                from_above += own[n_leaves + start : n_leaves + stop]
            got = tape.gradient(
                [part, h], [*weights, a, b], output_gradients=[tf.ones_like(part), from_above]
            )
            grads = [g if d is None else g + d for g, d in zip(grads, got[:-2])]
            to_children = [tf.zeros_like(a) if d is None else d for d in got[-2:]]
            return tf.concat([passed, *to_children], axis=0), grads, total + part

        passed = tf.zeros([1, dim], tf.float32)

        def from_parents(passed: tf.Tensor) -> tf.Tensor | None:
            """Each leaf's gradient: what its parent passed down, plus its own."""
            if not self.leaf_gradients:
                return None
            down = tf.gather(passed, plan.leaf_parent)
            return down if own is None else down + own[:n_leaves]

        if depth <= UNROLL:
            for k in reversed(range(depth)):
                passed, grads, total = level(tf.constant(k), passed, grads, total)
            return total, grads, from_parents(passed)

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
        return out[2], list(out[3:]), from_parents(out[1])

    def loss_and_gradients(
        self, plan: Plan, row_labels: tf.Tensor, count: tf.Tensor, depth: int, replicas: int = 1
    ) -> Gradients:
        """The loss divided by ``count`` (the minibatch's sequences), plus the
        regularisers, its gradients, and whether all of them are finite."""
        total, grads, leaf_grads = self.sum_and_gradients(plan, row_labels, depth)
        loss = total / count
        grads = [g / count for g in grads]
        if leaf_grads is not None:
            leaf_grads = leaf_grads / count
        with self._tape() as tape:
            penalty = tf.constant(0.0)
            for w, regularizer in zip(self.weights, self.regularizers):
                if regularizer is not None:
                    # each replica adds its share: summed over replicas, it counts once
                    penalty += regularizer(w) / replicas
        got = tape.gradient(penalty, self.weights)
        grads = [g if d is None else g + d for g, d in zip(grads, got)]
        loss = loss + penalty
        finite = tf.math.is_finite(loss)
        for g in grads if leaf_grads is None else [*grads, leaf_grads]:
            finite = finite & tf.reduce_all(tf.math.is_finite(g))
        return Gradients(loss, grads, leaf_grads, finite)
