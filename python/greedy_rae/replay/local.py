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
        self._functions: dict[int, Any] = {}
        self._apply_function: Any = None

    def _function(self, depth: int) -> Any:
        key = bucket(depth)
        fn = self._functions.get(key)
        if fn is None:
            gradient_pass = self.gradient_pass

            @tf.function(
                input_signature=[
                    plan_signature(gradient_pass.dim),
                    tf.TensorSpec([None], tf.int32),
                    tf.TensorSpec([], tf.float32),
                ]
            )
            def run(plan: Plan, labels: tf.Tensor, count: tf.Tensor) -> Any:
                return gradient_pass.loss_and_gradients(plan, labels, count, key)

            # The concrete function skips matching the arguments to the
            # signature at every call.
            fn = self._functions[key] = run.get_concrete_function()
        return fn

    def _gradients(
        self, seqs: list[np.ndarray], labels: np.ndarray | None, train: bool
    ) -> tuple[float, Any, bool]:
        plan = self.planner(seqs)
        head = self.gradient_pass.classifier is not None
        args = Plan(*(tf.constant(a) for a in plan))
        loss, grads, finite = self._function(plan.depth)(
            args, tf.constant(row_labels(plan, labels, head)), tf.constant(np.float32(len(seqs)))
        )
        return float(loss), grads, bool(finite)

    def _apply(self, grads: Any) -> None:
        if self._apply_function is None:
            optimizer, weights = self.optimizer, self.weights

            @tf.function(input_signature=[[tf.TensorSpec(w.shape, w.dtype) for w in weights]])
            def apply(grads: list[tf.Tensor]) -> None:
                optimizer.apply(grads, weights)

            self._apply_function = apply.get_concrete_function()
        self._apply_function(list(grads))
