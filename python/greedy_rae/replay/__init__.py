"""Training steps by replay: one device, or a ``tf.distribute`` strategy.

The choice is made once, when the RAE is made (:func:`make_runner`); both
runners take checked sequences and labels, build their plan (through the
``planner`` they are given) and replay it, and both keep one policy for a
non-finite step: the loss and gradients are computed first, and the optimizer
step is taken only when the loss and every gradient are finite; otherwise
weights and optimizer state stay as they were and ``FloatingPointError`` is
raised. (One device: a ``tf.cond`` in the compiled step; a strategy: every
replica keeps its gradients until the global check has passed.)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from greedy_rae.replay.distributed import StrategyRunner
from greedy_rae.replay.graph_pass import GradientPass
from greedy_rae.replay.local import LocalRunner
from greedy_rae.replay.runner import Planner, Runner
from greedy_rae.table import EmbeddingTable

__all__ = ["Planner", "Runner", "make_runner"]


def make_runner(
    gradient_pass: GradientPass,
    optimizer: keras.optimizers.Optimizer,
    planner: Planner,
    strategy: tf.distribute.Strategy | None,
    table: EmbeddingTable | None = None,
    replay: str = "auto",
) -> Runner:
    """The runner for one device (``strategy`` None) or for a strategy;
    ``replay``: see :class:`~greedy_rae.RAE`."""
    if strategy is None:
        return LocalRunner(gradient_pass, optimizer, planner, table, replay)
    if replay == "numpy":
        raise ValueError(
            "replay='numpy' runs on one device; under a strategy, training replays"
            " in graphs: give replay='auto' or 'graph'"
        )
    return StrategyRunner(gradient_pass, optimizer, planner, strategy, table)
