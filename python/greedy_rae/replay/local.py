"""Training on one device: the numpy pass (nothing to compile) where it
applies, else the graph pass, compiled once per depth bucket (see the
``replay`` option of :class:`~greedy_rae.RAE`)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from greedy_rae import _shared
from greedy_rae._variables import handle, specs, value
from greedy_rae.build.plan import Plan
from greedy_rae.replay import graph_pass
from greedy_rae.replay.graph_pass import GradientPass, bucket, plan_signature
from greedy_rae.replay.numpy_adam import (
    AdamScalars,
    AdamSlots,
    adam_scalars,
    adam_slots,
    adam_step,
    graph_adam_step,
)
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
            network,
            g.dim,
            weighted=g.weighted,
            classifier=classifier,
            alpha=g.alpha,
            head_loss=g.head_loss,
            inner_weight=g.inner_weight,
        )
        # by depth bucket and unrolled depth (and amsgrad, for the Adam steps)
        self.functions: dict[tuple[Any, ...], Any] = {}
        # where each gradient lies in the function's one output, after the
        # loss and the finiteness flag
        sizes = [int(w.shape.num_elements()) for w in self.gradient_pass.weights]
        self.offsets = np.cumsum([2, *sizes]).tolist()
        self.shapes = [tuple(w.shape) for w in self.gradient_pass.weights]

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

    def _signature(self) -> list[tf.TensorSpec]:
        """The compiled pass's first arguments: the plan, the rows' labels, the count."""
        return [
            *plan_signature(self.gradient_pass.dim),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.float32),
        ]

    def _gradients(self, flat: tuple[tf.Tensor, ...], depth: int) -> Any:
        """The pass's :class:`Gradients` from a compiled function's arguments:
        :meth:`_signature`'s, then the weights' values and the fixed ones'."""
        g, n_plan, n_weights = self.gradient_pass, len(Plan._fields), len(self.shapes)
        plan = Plan(*flat[:n_plan])
        labels, count = flat[n_plan], flat[n_plan + 1]
        values = list(flat[n_plan + 2 : n_plan + 2 + n_weights])
        constants = list(flat[n_plan + 2 + n_weights :])
        return g.with_values(values, constants).loss_and_gradients(plan, labels, count, depth)

    def function(self, depth: int) -> Any:
        """The compiled loss and gradients for plans of ``depth`` levels, as one
        float32 vector: the loss, 1 if all are finite (else 0), then each
        gradient flattened (see :meth:`split`). One output costs one transfer
        a step, where a tensor each cost as much as the pass of a small tree.
        Its arguments are flat (a nested signature costs its matching at every
        call): :meth:`_signature`'s, the weights' values and the fixed ones'."""
        key = (bucket(depth), graph_pass.UNROLL)
        if key not in self.functions:
            g = self.gradient_pass

            @tf.function(
                input_signature=[*self._signature(), *specs(g.weights), *specs(g.fixed)],
                autograph=False,
            )
            def run(*flat: tf.Tensor) -> Any:
                out = self._gradients(flat, key[0])
                head = [tf.reshape(out.loss, [1]), tf.reshape(tf.cast(out.finite, tf.float32), [1])]
                return tf.concat([*head, *(tf.reshape(d, [-1]) for d in out.weights)], axis=0)

            self.functions[key] = run.get_concrete_function()
        return self.functions[key]

    def adam_step(self, depth: int, amsgrad: bool) -> Any:
        """The pass and a plain Adam's step in one compiled call, for plans of
        ``depth`` levels: the weights, their moments and the step count are
        its arguments as resource handles, so the call reads and writes them
        itself, where the numpy step took a read and a write of each per step.
        Arguments: :meth:`_signature`'s, then handles of the weights, the
        fixed weights, the first moments, the second ones (and with
        ``amsgrad`` their largest), the step count, and last
        :class:`~greedy_rae.replay.numpy_adam.AdamScalars` as float32 scalars.
        Returns the loss and whether the step was applied (1 or 0), float32."""
        key = (bucket(depth), graph_pass.UNROLL, amsgrad)
        if key not in self.functions:
            n_weights, n_fixed = len(self.shapes), len(self.gradient_pass.fixed)
            n_slots = n_weights * (3 if amsgrad else 2)
            handles = [tf.TensorSpec([], tf.resource)] * (n_weights + n_fixed + n_slots + 1)
            scalars = [tf.TensorSpec([], tf.float32)] * len(AdamScalars._fields)

            @tf.function(input_signature=[*self._signature(), *handles, *scalars], autograph=False)
            def run(*flat: tf.Tensor) -> Any:
                n = len(self._signature())
                weights = list(flat[n : n + n_weights])
                fixed = list(flat[n + n_weights : n + n_weights + n_fixed])
                slots = list(flat[n + n_weights + n_fixed : n + n_weights + n_fixed + n_slots])
                iterations = flat[n + n_weights + n_fixed + n_slots]
                scalars = list(flat[-len(AdamScalars._fields) :])

                def read_(h: tf.Tensor, like: Any) -> tf.Tensor:
                    out = tf.raw_ops.ReadVariableOp(resource=h, dtype=tf.as_dtype(like.dtype))
                    out.set_shape(like.shape)  # a handle's value has no static shape
                    return out

                g = self.gradient_pass
                values = [read_(h, w) for h, w in zip([*weights, *fixed], [*g.weights, *g.fixed])]
                out = self._gradients((*flat[:n], *values), key[0])

                def apply() -> tf.Tensor:
                    graph_adam_step(
                        out.weights,
                        weights,
                        slots[:n_weights],
                        slots[n_weights : 2 * n_weights],
                        slots[2 * n_weights :] if amsgrad else None,
                        iterations,
                        scalars,
                    )
                    return tf.constant(1.0)

                applied = tf.cond(out.finite, apply, lambda: tf.constant(0.0))
                return tf.stack([out.loss, applied])

            self.functions[key] = run.get_concrete_function()
        return self.functions[key]

    def split(self, out: tf.Tensor) -> tuple[float, list[np.ndarray], bool]:
        """The loss, the gradients and their finiteness from :meth:`function`'s output."""
        flat = np.asarray(out)
        grads = [
            flat[a:b].reshape(shape)
            for a, b, shape in zip(self.offsets[:-1], self.offsets[1:], self.shapes)
        ]
        return float(flat[0]), grads, bool(flat[1] == 1)


# one SharedGradients a configuration, for the life of the process
_SHARED: dict[str, SharedGradients] = {}


def _configuration(gradient_pass: GradientPass) -> str | None:
    """The key of a gradient pass's configuration (None: it cannot be shared)."""
    g = gradient_pass
    net, head = _shared.architecture(g.network), _shared.architecture(g.classifier)
    if net is None or head is None or g.leaf_gradients:
        return None
    return f"{net}|{head}|{g.weighted}|{g.alpha!r}|{g.head_loss}|{g.inner_weight!r}|{g.dim}"


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
                head_loss=g.head_loss,
                inner_weight=g.inner_weight,
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
    ) -> tuple[float, list[np.ndarray], bool]:
        """The loss, gradients and finiteness by the configuration's shared pass."""
        plan_tensors, labels_tensor, count_tensor = self._plan_arguments(plan, labels, count)
        return shared.split(
            shared.function(plan.depth)(
                *plan_tensors,
                labels_tensor,
                count_tensor,
                *(value(w) for w in self.weights),
                *(value(w) for w in self.gradient_pass.fixed),
            )
        )

    def _adam_slots(self) -> AdamSlots | None:
        """The moments of a plain Adam, found once (the optimizer being built);
        None: the optimizer steps by its own ``apply``."""
        if self._adam is None:
            self._adam = adam_slots(self.optimizer, self.weights) or False
        return self._adam if isinstance(self._adam, AdamSlots) else None

    def _shared_adam_step(
        self,
        shared: SharedGradients,
        slots: AdamSlots,
        plan: Plan,
        labels: np.ndarray | None,
        count: int,
    ) -> tuple[float, bool]:
        """The configuration's pass and Adam step on this RAE's variables: the loss
        and whether the step was applied."""
        plan_tensors, labels_tensor, count_tensor = self._plan_arguments(plan, labels, count)
        moments = [*slots.momentums, *slots.velocities, *(slots.velocity_hats or [])]
        variables = [*self.weights, *self.gradient_pass.fixed, *moments, self.optimizer.iterations]
        out = shared.adam_step(plan.depth, slots.velocity_hats is not None)(
            *plan_tensors,
            labels_tensor,
            count_tensor,
            *(handle(v) for v in variables),
            *(tf.constant(x) for x in adam_scalars(self.optimizer)),
        )
        loss, applied = np.asarray(out)
        return float(loss), bool(applied == 1)

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
        slots = self._adam_slots()
        if slots is not None:
            adam_step(self.optimizer, slots, grads, self.weights)
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
            loss, arrays, finite = self._shared_call(shared, plan, labels, len(seqs))
            return loss, [tf.convert_to_tensor(g) for g in arrays], finite
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
            slots = self._adam_slots()
            if slots is not None:
                # the configuration's compiled pass and Adam step, in one call
                return self._shared_adam_step(shared, slots, plan, labels, len(seqs))
            # the configuration's compiled pass, then the optimizer's own apply
            loss, grads, finite = self._shared_call(shared, plan, labels, len(seqs))
            if finite:
                self._apply(grads)
            return loss, finite
        loss, applied = self._graph_call(plan, ids, labels, len(seqs), True)
        return float(loss), bool(applied)
