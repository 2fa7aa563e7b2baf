"""Training on one device: the graph pass, compiled once per depth bucket, or
for a short fit the numpy pass, which compiles nothing.

Compiling the graph costs a fixed half second or so (tracing it, then
TensorFlow's optimisation of it on its first call); after that, its steps are
faster than the numpy pass's (on two CPU cores, an epoch of the numpy pass
takes about 1.3-1.5x the graph's). A fit of fewer than ``GRAPH_STEPS`` steps, and
a single ``train_step`` or ``loss_and_gradients``, therefore replays in
numpy when the numpy pass knows the network (:func:`numpy_pass`); a longer
fit compiles the graph, and once it is compiled every call uses it."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from greedy_rae.build.plan import Plan
from greedy_rae.replay import Runner, row_labels
from greedy_rae.replay.numpy_pass import adam_step, numpy_pass, plain_adam
from greedy_rae.replay.step import bucket, plan_signature

# fits of fewer steps than this replay in numpy (the compile would not pay)
GRAPH_STEPS = 100


class LocalRunner(Runner):
    """The replay on this process's devices (TensorFlow places it)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._functions: dict[tuple[int, bool], Any] = {}
        self._empty: tf.Tensor | None = None
        g = self.gradient_pass
        # None: the graph pass (a network, head or regularizer the numpy pass does not know)
        self.numpy = numpy_pass(
            g.network,
            g.classifier,
            g.weights,
            weighted=g.weighted,
            alpha=g.alpha,
            leaf_gradients=g.leaf_gradients,
        )
        self._apply_function: Any = None
        self._short = True  # until fit says otherwise: single calls replay in numpy

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

    def _graph_call(
        self, plan: Plan, ids: np.ndarray, labels: np.ndarray | None, count: int, train: bool
    ) -> Any:
        head = self.gradient_pass.classifier is not None
        if self._empty is None:  # the row labels without a head, the ids without a table
            self._empty = tf.constant(np.zeros(0, np.int32))
        return self._function(plan.depth, train)(
            Plan(*(tf.constant(a) for a in plan)),
            tf.constant(row_labels(plan, labels, head)) if head else self._empty,
            tf.constant(np.float32(count)),
            tf.constant(ids) if len(ids) else self._empty,
        )

    def _numpy_call(
        self, plan: Plan, ids: np.ndarray, labels: np.ndarray | None, count: int
    ) -> tuple[float, list[np.ndarray], np.ndarray, np.ndarray, bool]:
        """The numpy pass's loss, gradients, table rows and their gradients, and
        whether all are finite (as the graph's ``run`` with ``train=False``)."""
        assert self.numpy is not None
        head = self.gradient_pass.classifier is not None
        parts = [self.numpy.run(plan, row_labels(plan, labels, head))]
        loss, grads, row_grads = self.numpy.loss_and_gradients(parts, count)
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

    def expect(self, steps: int) -> None:
        """``fit`` says how many steps it will take: a fit of fewer than
        GRAPH_STEPS replays in numpy; a longer one compiles the graph."""
        self._short = steps < GRAPH_STEPS

    def _use_numpy(self, plan: Plan, train: bool) -> bool:
        """The numpy pass for a short fit or a single call, unless the graph
        that serves this plan is compiled already (it is the faster then)."""
        if self.numpy is None:
            return False
        return (bucket(plan.depth), train) not in self._functions and self._short

    def _apply(self, grads: list[np.ndarray]) -> None:
        """The optimizer step of the numpy pass's gradients: Keras's Adam in numpy
        (nothing to compile); any other optimizer by its own ``apply``, compiled
        once (eagerly, a step would cost more than the pass)."""
        if plain_adam(self.optimizer, self.weights):
            adam_step(self.optimizer, grads, self.weights)
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
        plan, ids = self._plan(seqs)
        if self._use_numpy(plan, False):
            loss, grads, row_grads, rows, finite = self._numpy_call(plan, ids, labels, len(seqs))
            out = [tf.constant(g) for g in grads]
            if self.train_table:
                assert self.table is not None
                out.append(self.table.gradient(tf.constant(row_grads), tf.constant(rows)))
            return loss, out, finite
        loss, grads, row_grads, rows, finite = self._graph_call(plan, ids, labels, len(seqs), False)
        grads = list(grads)
        if self.train_table:
            assert self.table is not None
            grads.append(self.table.gradient(row_grads, rows))
        return float(loss), grads, bool(finite)

    def _train(self, seqs: list[np.ndarray], labels: np.ndarray | None) -> tuple[float, bool]:
        plan, ids = self._plan(seqs)
        if self._use_numpy(plan, True):
            loss, grads, row_grads, rows, finite = self._numpy_call(plan, ids, labels, len(seqs))
            if finite:
                self._apply(grads)
                if self.train_table:
                    assert self.table is not None
                    self.table.apply(self.optimizer, tf.constant(row_grads), tf.constant(rows))
            return loss, finite
        loss, applied = self._graph_call(plan, ids, labels, len(seqs), True)
        return float(loss), bool(applied)
