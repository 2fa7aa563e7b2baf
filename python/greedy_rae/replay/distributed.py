"""Data-parallel training over a ``tf.distribute`` strategy.

Each global minibatch is split into contiguous shares, one per replica; each
replica builds its share's trees (natively, on its worker's cores) and
replays them; the gradients are summed across replicas before one optimizer
step, and the loss is divided by the global minibatch size, so a step equals
one device's with the same global batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import greedy_rae.replay.graph_pass as graph_pass
from greedy_rae.build.plan import Plan, empty_plan
from greedy_rae.replay.graph_pass import GradientPass, bucket
from greedy_rae.replay.runner import Planner, Runner, row_labels
from greedy_rae.table import EmbeddingTable


class StrategyRunner(Runner):
    """The replay under a strategy: every replica its share of a minibatch."""

    def __init__(
        self,
        gradient_pass: GradientPass,
        optimizer: keras.optimizers.Optimizer,
        planner: Planner,
        strategy: tf.distribute.Strategy,
        table: EmbeddingTable | None = None,
    ) -> None:
        super().__init__(gradient_pass, optimizer, planner, table)
        self.strategy = strategy
        if self.train_table:
            assert table is not None
            if table.regularizer is not None:
                raise ValueError(
                    "embeddings_regularizer is not supported under a tf.distribute strategy"
                )
            with strategy.scope():  # the lazy Adam's state, mirrored like the table
                table.optimizer_variables()
        self._functions: dict[tuple[bool, int], Any] = {}
        self._apply_function: Any = None
        self._table_function: Any = None
        self._gradient_buffers: list[tf.Variable] | None = None

    def _buffers(self) -> list[tf.Variable]:
        """One per-replica (sync-on-read) copy of every gradient, made once."""
        if self._gradient_buffers is None:
            with self.strategy.scope():
                self._gradient_buffers = [
                    tf.Variable(
                        tf.zeros(w.shape, w.dtype),
                        trainable=False,
                        synchronization=tf.VariableSynchronization.ON_READ,
                        aggregation=tf.VariableAggregation.SUM,
                    )
                    for w in self.weights
                ]
        return self._gradient_buffers

    @property
    def workers(self) -> int:
        """Worker processes of the strategy (1 on one machine)."""
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if resolver is None:
            return 1
        spec = resolver.cluster_spec().as_dict()
        return sum(len(v) for k, v in spec.items() if k in ("chief", "worker")) or 1

    @property
    def is_chief(self) -> bool:
        """Whether this process writes checkpoints (the chief of a multi-worker run)."""
        resolver = getattr(self.strategy, "cluster_resolver", None)
        if resolver is None or not resolver.task_type:
            return True
        spec = resolver.cluster_spec().as_dict()
        if "chief" in spec:
            return bool(resolver.task_type == "chief")
        return bool(resolver.task_type == "worker" and resolver.task_id == 0)

    def _parts(self, count: int) -> list[np.ndarray]:
        """Contiguous shares of ``count`` sequences, as even as can be, in replica order."""
        return np.array_split(np.arange(count), self.strategy.num_replicas_in_sync)

    def map_sequences(
        self, seqs: list[np.ndarray], fn: Callable[[list[np.ndarray]], np.ndarray], width: int
    ) -> np.ndarray:
        """Each replica maps its contiguous share; every worker gets the whole result."""
        if self.workers == 1:
            return fn(seqs)
        strategy = self.strategy
        parts = self._parts(len(seqs))
        size = max(len(p) for p in parts)

        def local(ctx: Any) -> tf.Tensor:
            idx = parts[ctx.replica_id_in_sync_group]
            out = np.zeros((size, width), np.float32)  # padded: gathers need equal shapes
            if len(idx):
                out[: len(idx)] = fn([seqs[i] for i in idx])
            return tf.constant(out)

        values = strategy.experimental_distribute_values_from_function(local)
        gathered = np.asarray(strategy.gather(values, axis=0))
        return np.concatenate([gathered[r * size : r * size + len(p)] for r, p in enumerate(parts)])

    def _function(self, train: bool, depth: int) -> Any:
        key = (train, depth)
        fn = self._functions.get(key)
        if fn is not None:
            return fn
        strategy, gradient_pass = self.strategy, self.gradient_pass
        replicas = strategy.num_replicas_in_sync

        table = self.table if self.train_table else None

        def step(plan: Plan, labels: tf.Tensor, count: tf.Tensor, ids: tf.Tensor) -> Any:
            g = gradient_pass.loss_and_gradients(plan, labels, count, depth, replicas)
            loss, grads, finite = g.loss, g.weights, g.finite
            bad = 1.0 - tf.cast(finite, tf.float32)
            ctx = tf.distribute.get_replica_context()
            rows: Any = []
            if table is not None:
                # the table's gradient, every replica's rows gathered in
                # replica order (the order of one device's minibatch)
                sparse = ctx.all_reduce(tf.distribute.ReduceOp.SUM, table.gradient(g.leaves, ids))
                rows = [sparse.values, sparse.indices]
            if train:
                # each replica keeps its own gradients until the step is known finite
                for buffer, w in zip(self._buffers(), grads):
                    buffer.assign(w)
                return loss, bad, [], rows
            return loss, bad, ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads), rows

        @tf.function(reduce_retracing=True, autograph=False)
        def run(plan: Plan, labels: tf.Tensor, count: tf.Tensor, ids: tf.Tensor) -> Any:
            loss, bad, grads, rows = strategy.run(step, args=(plan, labels, count, ids))
            loss = strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
            bad = strategy.reduce(tf.distribute.ReduceOp.SUM, bad, axis=None)
            # every replica holds the same sums
            first = [strategy.experimental_local_results(g)[0] for g in [*grads, *rows]]
            return loss, bad, first[: len(grads)], first[len(grads) :]

        if train:
            self._buffers()  # made outside the traced function

        self._functions[key] = run
        return run

    def _gradients(
        self, seqs: list[np.ndarray], labels: np.ndarray | None
    ) -> tuple[float, list[tf.Tensor], bool]:
        loss, grads, rows, finite = self._call(seqs, labels, False)
        grads = list(grads)
        if self.train_table:
            assert self.table is not None
            grads.append(self.table.gradient(rows[0], rows[1]))
        return loss, grads, finite

    def _train(self, seqs: list[np.ndarray], labels: np.ndarray | None) -> tuple[float, bool]:
        loss, _, rows, finite = self._call(seqs, labels, True)
        if finite:
            self._apply(rows)
        return loss, finite

    def _call(
        self, seqs: list[np.ndarray], labels: np.ndarray | None, train: bool
    ) -> tuple[float, Any, Any, bool]:
        """One data-parallel loss over a global minibatch. Plans are built when
        a replica asks for its share, so a worker builds only its own
        replicas' trees. On one machine the replay is unrolled to the deepest
        share's depth; across workers, whose graphs (and collectives) must
        match without knowing each other's trees, it is a while loop."""
        parts = self._parts(len(seqs))
        head = self.gradient_pass.classifier is not None
        dim = self.gradient_pass.dim
        plans: dict[int, tuple[Plan, np.ndarray, np.ndarray]] = {}

        def share(ctx: Any) -> tuple[Plan, np.ndarray, np.ndarray]:
            r = ctx.replica_id_in_sync_group
            if r not in plans:
                idx = parts[r]
                ids = np.zeros(0, np.int32)
                if len(idx):
                    leaves, ids = self._leaves([seqs[i] for i in idx])
                    plan = self.planner(leaves)
                else:
                    plan = empty_plan(dim)
                y = None if labels is None or not len(idx) else labels[idx]
                plans[r] = (plan, row_labels(plan, y, head), ids)
            return plans[r]

        def field(name: str) -> Any:
            return self.strategy.experimental_distribute_values_from_function(
                lambda ctx: tf.constant(getattr(share(ctx)[0], name))
            )

        plan = Plan(*(field(name) for name in Plan._fields))
        y = self.strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(share(ctx)[1])
        )
        count = self.strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(np.float32(len(seqs)))
        )
        ids = self.strategy.experimental_distribute_values_from_function(
            lambda ctx: tf.constant(share(ctx)[2])
        )
        depth = graph_pass.UNROLL + 1
        if self.workers == 1:
            depth = bucket(max((p.depth for p, _, _ in plans.values()), default=0))
        loss, bad, grads, rows = self._function(train, depth)(plan, y, count, ids)
        return float(loss), grads, rows, float(bad) == 0

    def _apply(self, rows: Any) -> None:
        """The optimizer step from the gradients each replica kept, then the
        table's from the gathered rows (``[values, ids]``, empty without a
        table), in the order of one device's step."""
        if self._apply_function is None:
            strategy, optimizer, weights = self.strategy, self.optimizer, self.weights

            buffers = self._buffers()

            def step() -> None:
                # in replica context the optimizer sums the replicas' gradients
                optimizer.apply([b.read_value() for b in buffers], weights)

            @tf.function(autograph=False)
            def apply() -> None:
                strategy.run(step)

            self._apply_function = apply
        self._apply_function()
        if self.train_table:
            assert self.table is not None
            if self._table_function is None:
                table, strategy, optimizer = self.table, self.strategy, self.optimizer

                @tf.function(reduce_retracing=True, autograph=False)
                def apply_table(values: tf.Tensor, ids: tf.Tensor) -> None:
                    table.apply_mirrored(strategy, optimizer, values, ids)

                self._table_function = apply_table
            self._table_function(rows[0], rows[1])
