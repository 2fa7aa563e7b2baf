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
    # Scores are sums of non-negative errors, so a NaN or inf anywhere shows
    # in the root score; an embedding's shows in the scores of its pairs,
    # except the root's own: checking the roots covers every node.
    roots = [scores[-1] for _, scores, _, _, _ in results if len(scores)]
    check_finite(np.array(roots, dtype=np.float64), "scores")
    check_finite(np.stack([emb[-1] for _, _, emb, _, _ in results]), "embeddings")
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


def check_finite(values: np.ndarray, what: str) -> None:
    if not np.isfinite(values).all():
        raise FloatingPointError(
            f"the merge network produced non-finite {what}; the weights have diverged"
        )
