"""Builds on the native engine: the whole greedy loop in C++, GIL released."""

from __future__ import annotations

import numpy as np

from greedy_rae import _core
from greedy_rae.build.plan import Plan, plan_of
from greedy_rae.network import NativeSpec
from greedy_rae.tree import Tree


def native_trees(
    leaves: list[np.ndarray],
    spec: NativeSpec,
    pairs: str,
    reconstruction: str,
    progress: bool = False,
    threads: int = 0,
) -> list[Tree]:
    """The trees of checked sequences under a network the engine computes."""
    callback = None
    if progress:
        import keras

        bar = keras.utils.Progbar(sum(len(x) - 1 for x in leaves), unit_name="merge")
        callback = bar.update
    results = _core.build_native_batch(
        leaves, *spec.core_args(), reconstruction, pairs, threads, callback
    )
    # the core refuses non-finite trees (FloatingPointError)
    return [
        Tree(
            merges,
            scores,
            emb,
            {"pairs_scored": scored, "pairs_rescored": rescored, "scorer": "native"},
        )
        for merges, scores, emb, scored, rescored in results
    ]


def native_plan(
    leaves: list[np.ndarray], spec: NativeSpec, pairs: str, reconstruction: str, threads: int = 0
) -> Plan:
    """The replay plan of checked sequences, their trees built natively (the
    trees :func:`native_trees` gives; the core hands back only their plan and
    refuses non-finite scores and embeddings itself)."""
    return plan_of(
        _core.build_native_plan(leaves, *spec.core_args(), reconstruction, pairs, threads)
    )
