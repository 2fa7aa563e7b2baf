"""The replay's plan: what a build hands training, by name from the core on.

The core (``cpp/greedy_rae/plan.hpp``, ``ReplayPlan``) fills the fields; its
bindings hand them over as a dict keyed by these names; the replay's compiled
step takes the plan as this NamedTuple of tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from greedy_rae import _core


class Plan(NamedTuple):
    """The merges of a minibatch's trees in depth levels, with every node's embedding.

    The table holds every leaf of the minibatch (its sequences stacked in
    order), then the merges of level 1 of every tree (a merge's level is one
    more than its deeper child's), then those of level 2, and so on.
    """

    nodes: Any  # (leaves + merges, dim) float32: every node's embedding, row order
    left: Any  # (merges,) int32: table row of each merge's left child, table order
    right: Any  # (merges,) int32
    sizes: Any  # (depth,) int32: merges per level
    left_share: Any  # (merges,) float32: n1 / (n1 + n2) (weighted error), else empty
    row_tree: Any  # (table rows,) int32: the sequence each table row belongs to
    # (merges,) int32: where the gradient pass finds the gradient that each
    # merge's parent passes down to it (0 for a root). The pass keeps a table
    # that starts with a zero row; each level, from the last back to the
    # first, appends the gradients of its left children, then of its right ones.
    parent: Any
    # (leaves,) int32: the same for each leaf (0 for a one-leaf tree): where
    # the gradient of a leaf's embedding, and so of its row of an embedding
    # table, is found after the pass
    leaf_parent: Any

    @property
    def depth(self) -> int:
        """Levels of merges of the deepest tree."""
        return len(self.sizes)


def plan_of(fields: dict[str, np.ndarray]) -> Plan:
    """The Plan of the core's dict of fields (the names must match exactly)."""
    return Plan(**fields)


def empty_plan(dim: int) -> Plan:
    """The plan of no sequences (a replica whose share of a minibatch is empty)."""
    ints = np.zeros(0, dtype=np.int32)
    return Plan(
        nodes=np.zeros((0, dim), np.float32),
        left=ints,
        right=ints,
        sizes=ints,
        left_share=np.zeros(0, np.float32),
        row_tree=ints,
        parent=ints,
        leaf_parent=ints,
    )


def plan_of_trees(
    merges: Sequence[np.ndarray], embeddings: Sequence[np.ndarray], weighted: bool
) -> Plan:
    """The plan of built trees, given by their merges and their embeddings."""
    return plan_of(_core.replay_plan(list(merges), list(embeddings), weighted))
