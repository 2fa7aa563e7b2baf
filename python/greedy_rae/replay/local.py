"""Training on one device: the replay compiled once per depth bucket."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from greedy_rae.build.plan import Plan
from greedy_rae.replay import Runner, row_labels
from greedy_rae.replay.step import bucket, plan_signature


class LocalRunner(Runner):
    """The replay on this process's devices (TensorFlow places it)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._functions: dict[tuple[int, bool], Any] = {}
        self._empty: tf.Tensor | None = None

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

    def _call(self, seqs: list[np.ndarray], labels: np.ndarray | None, train: bool) -> Any:
        leaves, ids = self._leaves(seqs)
        plan = self.planner(leaves)
        head = self.gradient_pass.classifier is not None
        if self._empty is None:  # the row labels without a head, the ids without a table
            self._empty = tf.constant(np.zeros(0, np.int32))
        return self._function(plan.depth, train)(
            Plan(*(tf.constant(a) for a in plan)),
            tf.constant(row_labels(plan, labels, head)) if head else self._empty,
            tf.constant(np.float32(len(seqs))),
            tf.constant(ids) if len(ids) else self._empty,
        ), ids

    def _gradients(
        self, seqs: list[np.ndarray], labels: np.ndarray | None
    ) -> tuple[float, list[tf.Tensor], bool]:
        (loss, grads, row_grads, rows, finite), _ = self._call(seqs, labels, False)
        grads = list(grads)
        if self.train_table:
            assert self.table is not None
            grads.append(self.table.gradient(row_grads, rows))
        return float(loss), grads, bool(finite)

    def _train(self, seqs: list[np.ndarray], labels: np.ndarray | None) -> tuple[float, bool]:
        (loss, applied), _ = self._call(seqs, labels, True)
        return float(loss), bool(applied)
