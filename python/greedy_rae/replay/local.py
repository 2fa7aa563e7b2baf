"""Training on one device: the numpy pass (nothing to compile) where it
applies, else the graph pass, compiled once per depth bucket (see the
``replay`` option of :class:`~greedy_rae.RAE`)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from greedy_rae import _shared
from greedy_rae._variables import specs, value
from greedy_rae.build.plan import Plan
from greedy_rae.replay import graph_pass
from greedy_rae.replay.graph_pass import GradientPass, bucket, plan_signature
from greedy_rae.replay.numpy_adam import AdamSlots, adam_slots, adam_step
from greedy_rae.replay.numpy_pass import NumpyPass, find_blas, numpy_pass
from greedy_rae.replay.runner import Planner, Runner, row_labels
from greedy_rae.table import EmbeddingTable


class SharedGradients:
    """The graph pass of one configuration (network and head architecture, loss
    options), compiled once per depth bucket for every RAE of it in this
    process: it computes with a template (see :mod:`greedy_rae._shared`) and
    takes the weights' values as arguments."""

    def __init__(self, gradient_pass: GradientPass) -> None:
        g = gradient_pass
        network = _shared.clone(g.network)
        classifier = None if g.classifier is None else _shared.clone(g.classifier)
        self.gradient_pass = GradientPass(
            network, g.dim, weighted=g.weighted, classifier=classifier, alpha=g.alpha
        )
        self.functions: dict[tuple[int, int], Any] = {}

    def stands_for(self, gradient_pass: GradientPass) -> bool:
        """Whether the templates compute what ``gradient_pass``'s network and head do."""
        g, dim = gradient_pass, gradient_pass.dim
        a, b = _shared.probe(dim)
        if not _shared.computes_like(self.gradient_pass.network, g.network, [a, b]):
            return False
        head = self.gradient_pass.classifier
        return g.classifier is None or (
            head is not None and _shared.computes_like(head, g.classifier, a)
        )

    def function(self, depth: int) -> Any:
        """The compiled loss and gradients for plans of ``depth`` levels."""
        key = bucket(depth)
        if (key, graph_pass.UNROLL) not in self.functions:
            g = self.gradient_pass

            @tf.function(
                input_signature=[
                    plan_signature(g.dim),
                    tf.TensorSpec([None], tf.int32),
                    tf.TensorSpec([], tf.float32),
                    specs(g.weights),
                    specs(g.fixed),
                ],
                autograph=False,
            )
            def run(
                plan: Plan,
                labels: tf.Tensor,
                count: tf.Tensor,
                values: list[tf.Tensor],
                constants: list[tf.Tensor],
            ) -> Any:
                out = g.with_values(values, constants).loss_and_gradients(plan, labels, count, key)
                return out.loss, out.weights, out.finite

            self.functions[key, graph_pass.UNROLL] = run.get_concrete_function()
        return self.functions[key, graph_pass.UNROLL]


# one SharedGradients a configuration, for the life of the process
_SHARED: dict[str, SharedGradients] = {}


def _configuration(gradient_pass: GradientPass) -> str | None:
    """The key of a gradient pass's configuration (None: it cannot be shared)."""
    g = gradient_pass
    net, head = _shared.architecture(g.network), _shared.architecture(g.classifier)
    if net is None or head is None or g.leaf_gradients:
        return None
    return f"{net}|{head}|{g.weighted}|{g.alpha!r}|{g.dim}"


class LocalRunner(Runner):
    """The replay on this process's devices (TensorFlow places it)."""

    def __init__(
        self,
        gradient_pass: GradientPass,
        optimizer: keras.optimizers.Optimizer,
        planner: Planner,
        table: EmbeddingTable | None = None,
        replay: str = "auto",
    ) -> None:
        super().__init__(gradient_pass, optimizer, planner, table)
        self._functions: dict[tuple[int, bool], Any] = {}
        self._empty: tf.Tensor | None = None
        g = self.gradient_pass
        # None: the graph pass
        self.numpy: NumpyPass | None = None
        if replay == "numpy" or (replay == "auto" and not tf.config.list_logical_devices("GPU")):
            self.numpy = numpy_pass(
                g.network,
                g.classifier,
                g.weights,
                weighted=g.weighted,
                alpha=g.alpha,
                leaf_gradients=g.leaf_gradients,
            )
            if self.numpy is None and replay == "numpy":
                raise ValueError(
                    "replay='numpy' needs a network the native engine computes, the"
                    " default head (one softmax Dense layer), and L1/L2 weight penalties"
                    " or none: give replay='auto' or 'graph'"
                )
        if self.numpy is not None:
            find_blas()
        self._apply_function: Any = None
        # the moments of a plain Adam (found once, by value), or False: step by its apply
        self._adam: AdamSlots | bool | None = None
        # the graph pass shared by this configuration's RAEs (False: this RAE's own,
        # with its word table; None: not looked up yet)
        self._shared: SharedGradients | bool | None = None

    def _shared_gradients(self) -> SharedGradients | None:
        if self._shared is None:
            key = None if self.table is not None else _configuration(self.gradient_pass)
            self._shared = False
            if key is not None:
                if key not in _SHARED:
                    _SHARED[key] = SharedGradients(self.gradient_pass)
                if _SHARED[key].stands_for(self.gradient_pass):
                    self._shared = _SHARED[key]
        return self._shared if isinstance(self._shared, SharedGradients) else None

    def _shared_call(
        self, shared: SharedGradients, plan: Plan, labels: np.ndarray | None, count: int
    ) -> tuple[float, list[tf.Tensor], bool]:
        """The loss, gradients and finiteness by the configuration's shared pass."""
        loss, grads, finite = shared.function(plan.depth)(
            *self._plan_arguments(plan, labels, count),
            [value(w) for w in self.weights],
            [value(w) for w in self.gradient_pass.fixed],
        )
        return float(loss), list(grads), bool(finite)

    def _function(self, depth: int, train: bool) -> Any:
        key = (bucket(depth), train)
        fn = self._functions.get(key)
        if fn is None:
            fn = self._functions[key] = self._compile(key[0], train)
        return fn

    def _compile(self, depth: int, train: bool) -> Any:
        gradient_pass, optimizer, weights = self.gradient_pass, self.optimizer, self.weights
        table = self.table if self.train_table else None
        if table is not None:
            table.optimizer_variables()  # its lazy Adam's state, made outside the trace

        # no autograph: the pass's loops are Python loops over levels
        # (unrolled) or an explicit tf.while_loop; converting its source
        # would cost more than half of each trace
        @tf.function(
            input_signature=[
                plan_signature(gradient_pass.dim),
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([], tf.float32),
                tf.TensorSpec([None], tf.int32),
            ],
            autograph=False,
        )
        def run(plan: Plan, labels: tf.Tensor, count: tf.Tensor, ids: tf.Tensor) -> Any:
            # ids: the table row of each leaf (empty without a table)
            g = gradient_pass.loss_and_gradients(plan, labels, count, depth)
            loss, finite = g.loss, g.finite
            # the table's gradient, as sparse rows (none without a trained table)
            rows, row_grads = ids, g.leaves
            if row_grads is None:
                row_grads = tf.zeros([0, gradient_pass.dim], tf.float32)
            if table is not None and table.regularizer is not None:
                penalty, used, used_grads = table.penalty(ids)
                loss = loss + penalty
                finite = finite & tf.math.is_finite(penalty)
                finite = finite & tf.reduce_all(tf.math.is_finite(used_grads))
                rows = tf.concat([ids, used], axis=0)
                row_grads = tf.concat([row_grads, used_grads], axis=0)
            if not train:
                return loss, g.weights, row_grads, rows, finite

            def apply() -> tf.Tensor:
                optimizer.apply(g.weights, weights)
                if table is not None:
                    table.apply(optimizer, row_grads, rows)
                return tf.constant(True)

            return loss, tf.cond(finite, apply, lambda: tf.constant(False))

        # The concrete function skips matching the arguments to the
        # signature at every call.
        return run.get_concrete_function()

    def _plan(self, seqs: list[np.ndarray]) -> tuple[Plan, np.ndarray]:
        leaves, ids = self._leaves(seqs)
        return self.planner(leaves), ids

    def _plan_arguments(
        self, plan: Plan, labels: np.ndarray | None, count: int
    ) -> tuple[Plan, tf.Tensor, tf.Tensor]:
        """A compiled pass's first arguments: the plan, the rows' labels and the count."""
        head = self.gradient_pass.classifier is not None
        if self._empty is None:  # the row labels without a head, the ids without a table
            self._empty = tf.constant(np.zeros(0, np.int32))
        return (
            Plan(*(tf.constant(a) for a in plan)),
            tf.constant(row_labels(plan, labels, head)) if head else self._empty,
            tf.constant(np.float32(count)),
        )

    def _graph_call(
        self, plan: Plan, ids: np.ndarray, labels: np.ndarray | None, count: int, train: bool
    ) -> Any:
        arguments = self._plan_arguments(plan, labels, count)
        assert self._empty is not None  # made by _plan_arguments
        return self._function(plan.depth, train)(
            *arguments, tf.constant(ids) if len(ids) else self._empty
        )

    def _numpy_call(
        self, seqs: list[np.ndarray], labels: np.ndarray | None
    ) -> tuple[float, list[np.ndarray], np.ndarray, np.ndarray, bool]:
        """The numpy pass's loss, gradients, table rows and their gradients, and
        whether all are finite (as the graph's ``run`` with ``train=False``)."""
        assert self.numpy is not None
        numpy = self.numpy
        head = self.gradient_pass.classifier is not None
        plan, ids = self._plan(seqs)
        loss, grads, row_grads = numpy.loss_and_gradients(
            plan, row_labels(plan, labels, head), len(seqs)
        )
        finite = bool(np.isfinite(loss)) and all(np.isfinite(g).all() for g in grads)
        rows = ids
        if row_grads is None:
            row_grads = np.zeros((0, self.gradient_pass.dim), np.float32)
        else:
            finite = finite and bool(np.isfinite(row_grads).all())
        table = self.table if self.train_table else None
        if table is not None and table.regularizer is not None:
            penalty, used, used_grads = table.penalty(tf.constant(ids))
            loss += float(penalty)
            used_grads = np.asarray(used_grads)
            finite = finite and bool(np.isfinite(loss)) and bool(np.isfinite(used_grads).all())
            rows = np.concatenate([ids, np.asarray(used)])
            row_grads = np.concatenate([row_grads, used_grads])
        return loss, grads, row_grads, rows, finite

    def _apply(self, grads: list[np.ndarray]) -> None:
        """The optimizer step of the numpy pass's gradients: Keras's Adam in numpy
        (nothing to compile); any other optimizer by its own ``apply``, compiled
        once (eagerly, a step would cost more than the pass)."""
        if self._adam is None:  # found once, the optimizer being built
            self._adam = adam_slots(self.optimizer, self.weights) or False
        if isinstance(self._adam, AdamSlots):
            adam_step(self.optimizer, self._adam, grads, self.weights)
            return
        if self._apply_function is None:
            optimizer, weights = self.optimizer, self.weights

            @tf.function(
                input_signature=[[tf.TensorSpec(w.shape, tf.float32) for w in weights]],
                autograph=False,
            )
            def apply(grads: list[tf.Tensor]) -> None:
                optimizer.apply(grads, weights)

            self._apply_function = apply.get_concrete_function()
        self._apply_function([tf.constant(g) for g in grads])

    def _gradients(
        self, seqs: list[np.ndarray], labels: np.ndarray | None
    ) -> tuple[float, list[tf.Tensor], bool]:
        shared = self._shared_gradients() if self.numpy is None else None
        if shared is not None:
            plan, _ = self._plan(seqs)
            return self._shared_call(shared, plan, labels, len(seqs))
        if self.numpy is not None:
            loss, grads, row_grads, rows, finite = self._numpy_call(seqs, labels)
        else:
            plan, ids = self._plan(seqs)
            loss, grads, row_grads, rows, finite = self._graph_call(
                plan, ids, labels, len(seqs), False
            )
        out = [tf.convert_to_tensor(g) for g in grads]
        if self.train_table:
            assert self.table is not None
            out.append(
                self.table.gradient(tf.convert_to_tensor(row_grads), tf.convert_to_tensor(rows))
            )
        return float(loss), out, bool(finite)

    def _train(self, seqs: list[np.ndarray], labels: np.ndarray | None) -> tuple[float, bool]:
        if self.numpy is not None:
            loss, grads, row_grads, rows, finite = self._numpy_call(seqs, labels)
            if finite:
                self._apply(grads)
                if self.train_table:
                    assert self.table is not None
                    self.table.apply_arrays(self.optimizer, row_grads, rows)
            return loss, finite
        plan, ids = self._plan(seqs)
        shared = self._shared_gradients()
        if shared is not None:
            # the configuration's compiled pass, then the optimizer's step
            # (Adam in numpy, others by their own apply)
            loss, grads, finite = self._shared_call(shared, plan, labels, len(seqs))
            if finite:
                self._apply([np.asarray(g) for g in grads])
            return loss, finite
        loss, applied = self._graph_call(plan, ids, labels, len(seqs), True)
        return float(loss), bool(applied)
