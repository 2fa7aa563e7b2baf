"""The runner's interface and its one policy for a non-finite step (see
:mod:`greedy_rae.replay`); :mod:`~greedy_rae.replay.local` and
:mod:`~greedy_rae.replay.distributed` implement it."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from greedy_rae.build.plan import Plan
from greedy_rae.replay.graph_pass import GradientPass
from greedy_rae.table import EmbeddingTable

Planner = Callable[[list[np.ndarray]], Plan]


def row_labels(plan: Plan, labels: np.ndarray | None, head: bool) -> np.ndarray:
    """The label of every table row (-1: unlabelled; empty without a head)."""
    if not head:
        return np.zeros(0, dtype=np.int32)
    if labels is None:
        return np.full(len(plan.row_tree), -1, dtype=np.int32)
    return np.asarray(np.asarray(labels, dtype=np.int32)[plan.row_tree])


class Runner:
    """Loss, gradients and optimizer steps over checked sequences."""

    def __init__(
        self,
        gradient_pass: GradientPass,
        optimizer: keras.optimizers.Optimizer,
        planner: Planner,
        table: EmbeddingTable | None = None,
    ) -> None:
        self.gradient_pass = gradient_pass
        self.optimizer = optimizer
        self.planner = planner
        self.weights = gradient_pass.weights
        # a text RAE's sequences are token ids, their leaves the table's rows
        self.table = table
        self.train_table = table is not None and table.trainable

    def _build_optimizer(self) -> None:
        """Builds the optimizer for the network and the head (the word table has
        its own lazy Adam)."""
        if not self.optimizer.built:
            self.optimizer.build(self.weights)

    def optimizer_variables(self) -> list[tf.Variable]:
        """The optimizer's state (built if need be), then the table's lazy Adam's."""
        self._build_optimizer()
        out = list(self.optimizer.variables)
        if self.train_table:
            assert self.table is not None
            out += self.table.optimizer_variables()
        return out

    def _leaves(self, seqs: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
        """The sequences' leaves, and the table row of every leaf (empty without a table)."""
        if self.table is None:
            return seqs, np.zeros(0, np.int32)
        return self.table.leaves(seqs)

    # what each runner implements
    def _gradients(
        self, seqs: list[np.ndarray], labels: np.ndarray | None
    ) -> tuple[float, list[tf.Tensor], bool]:
        """The loss, its gradients, and whether all of them are finite."""
        raise NotImplementedError

    def _train(self, seqs: list[np.ndarray], labels: np.ndarray | None) -> tuple[float, bool]:
        """The loss, and whether the step was applied: the optimizer step is
        taken only when the loss and every gradient are finite."""
        raise NotImplementedError

    def map_sequences(
        self, seqs: list[np.ndarray], fn: Callable[[list[np.ndarray]], np.ndarray], width: int
    ) -> np.ndarray:
        """``fn(seqs)``, ``(len(seqs), width)`` float32 (a strategy splits the work)."""
        return fn(seqs)

    @property
    def is_chief(self) -> bool:
        """Whether this process writes checkpoints."""
        return True

    # one policy for every runner
    def loss_and_gradients(
        self, seqs: list[np.ndarray], labels: np.ndarray | None
    ) -> tuple[float, list[tf.Tensor]]:
        loss, grads, finite = self._gradients(seqs, labels)
        if not finite:
            raise FloatingPointError(f"the loss ({loss}) or a gradient is not finite")
        return loss, grads

    def train_step(self, seqs: list[np.ndarray], labels: np.ndarray | None) -> float:
        self._build_optimizer()
        loss, applied = self._train(seqs, labels)
        if not applied:
            raise FloatingPointError(
                f"the loss ({loss}) or a gradient is not finite; the update was not applied"
            )
        return loss
